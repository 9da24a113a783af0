namespace Herald.Bench;

/// <summary>A problem the user can fix: printed as one line, exit code 2, no stack trace.</summary>
internal sealed class BenchException(string message) : Exception(message);
