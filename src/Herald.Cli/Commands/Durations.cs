using System.Globalization;

namespace Herald.Cli.Commands;

/// <summary>Durations as users write them on a command line: <c>500ms</c>, <c>15s</c>, <c>10m</c>, <c>1h</c>, <c>1d</c>, or <c>hh:mm:ss</c>.</summary>
internal static class Durations
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        text = text.Trim();
        (string Suffix, double Milliseconds)[] units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)];
        foreach (var (suffix, ms) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
            {
                value = TimeSpan.FromMilliseconds(n * ms);
                return true;
            }
        }

        if (text == "0")
        {
            value = TimeSpan.Zero;
            return true;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }
}
