using System.Buffers;

namespace Herald.Topics;

/// <summary>
/// A Thompson automaton for one URI template, simulated on every live state at once (no backtracking):
/// each input character visits each instruction at most twice, so a match is linear in the input.
/// </summary>
internal sealed class TemplateAutomaton
{
    /// <summary>Automata up to this many instructions simulate on the stack (4 arrays × 512 ints = 8 KB); larger ones rent.</summary>
    private const int StackLimit = 512;

    private readonly Instruction[] _code;

    /// <summary>
    /// For automata of at most 64 instructions (most templates): per instruction, the live instructions it
    /// stands for once the free moves are followed, so a step is a few bit operations per live instruction
    /// (no marks to clear, no stack).
    /// </summary>
    private readonly ulong[]? _closures;
    private readonly ulong _accepting;

    private TemplateAutomaton(Instruction[] code)
    {
        _code = code;
        if (code.Length <= 64)
        {
            _closures = new ulong[code.Length];
            for (var pc = 0; pc < code.Length; pc++)
            {
                _closures[pc] = Closure(pc);
                if (code[pc].Op == Op.Match)
                {
                    _accepting |= 1UL << pc;
                }
            }
        }
    }

    public int Length => _code.Length;

    public bool Matches(string input, out long steps)
    {
        if (_closures is not null)
        {
            return RunSmall(input, _closures, out steps);
        }

        var n = _code.Length;
        if (n <= StackLimit)
        {
            Span<int> scratch = stackalloc int[4 * n];
            scratch.Clear();
            return Run(input, scratch, out steps);
        }

        var rented = ArrayPool<int>.Shared.Rent(4 * n);
        try
        {
            var scratch = rented.AsSpan(0, 4 * n);
            scratch.Clear();
            return Run(input, scratch, out steps);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rented);
        }
    }

    private bool Run(string input, Span<int> scratch, out long steps)
    {
        var n = _code.Length;
        var mark = scratch[..n];
        var current = scratch.Slice(n, n);
        var next = scratch.Slice(2 * n, n);
        var stack = scratch.Slice(3 * n, n);
        var generation = 1;
        steps = 0;
        var count = Add(current, 0, 0, mark, generation, stack, ref steps);
        for (var i = 0; i < input.Length && count > 0; i++)
        {
            var c = input[i];
            generation++;
            var nextCount = 0;
            for (var k = 0; k < count; k++)
            {
                var pc = current[k];
                ref readonly var instruction = ref _code[pc];
                steps++;
                var target = Step(instruction, pc, c);
                if (target >= 0)
                {
                    nextCount = Add(next, nextCount, target, mark, generation, stack, ref steps);
                }
            }

            var swap = current;
            current = next;
            next = swap;
            count = nextCount;
        }

        for (var k = 0; k < count; k++)
        {
            if (_code[current[k]].Op == Op.Match)
            {
                return true;
            }
        }

        return false;
    }

    private bool RunSmall(string input, ulong[] closures, out long steps)
    {
        steps = 1;
        var live = closures[0];
        for (var i = 0; i < input.Length && live != 0; i++)
        {
            var c = input[i];
            var next = 0UL;
            for (var rest = live; rest != 0; rest &= rest - 1)
            {
                var pc = System.Numerics.BitOperations.TrailingZeroCount(rest);
                ref readonly var instruction = ref _code[pc];
                steps++;
                var target = Step(instruction, pc, c);
                if (target >= 0)
                {
                    next |= closures[target];
                }
            }

            live = next;
        }

        return (live & _accepting) != 0;
    }

    /// <summary>Where a consuming instruction goes on <paramref name="c"/>; -1 when it does not take it.</summary>
    private static int Step(in Instruction instruction, int pc, char c) => instruction.Op switch
    {
        Op.Char => c == instruction.C ? instruction.X : -1,
        Op.Either => c == instruction.C || c == instruction.Y ? instruction.X : -1,
        Op.Hex => char.IsAsciiHexDigit(c) ? instruction.X : -1,
        Op.ValueLoop => CharClasses.Contains(instruction.Class, c) ? pc : c == '%' ? pc + 1 : -1,
        _ => -1,
    };

    /// <summary>The consuming instructions (and Match) reachable from <paramref name="start"/> by free moves, as a mask.</summary>
    private ulong Closure(int start)
    {
        var mask = 0UL;
        var seen = 0UL;
        var pending = new Stack<int>();
        pending.Push(start);
        while (pending.Count > 0)
        {
            var pc = pending.Pop();
            if ((seen & (1UL << pc)) != 0)
            {
                continue;
            }

            seen |= 1UL << pc;
            var instruction = _code[pc];
            switch (instruction.Op)
            {
                case Op.Jmp:
                    pending.Push(instruction.X);
                    break;
                case Op.Split:
                    pending.Push(instruction.X);
                    pending.Push(instruction.Y);
                    break;
                case Op.ValueLoop:
                    mask |= 1UL << pc;
                    pending.Push(instruction.Y);
                    break;
                default:
                    mask |= 1UL << pc;
                    break;
            }
        }

        return mask;
    }

    /// <summary>Adds <paramref name="start"/> and every instruction reachable from it without input to the list.</summary>
    private int Add(Span<int> list, int count, int start, Span<int> mark, int generation, Span<int> stack, ref long steps)
    {
        if (mark[start] == generation)
        {
            return count;
        }

        mark[start] = generation;
        var top = 0;
        stack[top++] = start;
        while (top > 0)
        {
            var pc = stack[--top];
            ref readonly var instruction = ref _code[pc];
            steps++;
            switch (instruction.Op)
            {
                case Op.Jmp:
                    Push(instruction.X, mark, generation, stack, ref top);
                    break;
                case Op.Split:
                    Push(instruction.X, mark, generation, stack, ref top);
                    Push(instruction.Y, mark, generation, stack, ref top);
                    break;
                case Op.ValueLoop:
                    list[count++] = pc;
                    Push(instruction.Y, mark, generation, stack, ref top);
                    break;
                default:
                    list[count++] = pc;
                    break;
            }
        }

        return count;
    }

    private static void Push(int pc, Span<int> mark, int generation, Span<int> stack, ref int top)
    {
        if (mark[pc] != generation)
        {
            mark[pc] = generation;
            stack[top++] = pc;
        }
    }

    private enum Op : byte
    {
        Match,
        Char,
        Either,
        Hex,
        ValueLoop,
        Split,
        Jmp,
    }

    /// <summary>12 bytes. Consuming instructions go on to X (ValueLoop: itself, or X+1 for a %-escape); Split and Jmp are free.</summary>
    private readonly record struct Instruction(Op Op, CharClass Class, char C, int X, int Y);

    /// <summary>Emits instructions in order; optional parts and loops are closed by patching their split.</summary>
    internal sealed class Builder
    {
        private readonly List<Instruction> _code = [];

        public void Literal(ReadOnlySpan<char> text)
        {
            foreach (var c in text)
            {
                Char(c);
            }
        }

        public void Char(char c) => _code.Add(new(Op.Char, default, c, _code.Count + 1, 0));

        public void Either(char a, char b) => _code.Add(new(Op.Either, default, a, _code.Count + 1, b));

        /// <summary>(value | %HH)*: three instructions.</summary>
        public void ValueLoop(CharClass value)
        {
            var loop = _code.Count;
            _code.Add(new(Op.ValueLoop, value, '\0', loop, loop + 3));
            _code.Add(new(Op.Hex, default, '\0', loop + 2, 0));
            _code.Add(new(Op.Hex, default, '\0', loop, 0));
        }

        public int BeginOptional()
        {
            _code.Add(new(Op.Split, default, '\0', _code.Count + 1, -1));
            return _code.Count - 1;
        }

        public void EndOptional(int split) => _code[split] = _code[split] with { Y = _code.Count };

        public int BeginLoop() => BeginOptional();

        public void EndLoop(int split)
        {
            _code.Add(new(Op.Jmp, default, '\0', split, 0));
            EndOptional(split);
        }

        public TemplateAutomaton Build()
        {
            _code.Add(new(Op.Match, default, '\0', 0, 0));
            return new TemplateAutomaton([.. _code]);
        }
    }
}
