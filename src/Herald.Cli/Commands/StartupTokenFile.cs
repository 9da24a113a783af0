namespace Herald.Cli.Commands;

/// <summary>
/// Where <c>herald serve</c> leaves the token it mints on a generated key: a file only its user may read, never the log.
/// Logs are collected, shipped and shown to people who should not hold a 24-hour publish-anything token; a file in the
/// user's own directory is where a secret is expected.
/// </summary>
/// <remarks>
/// With a data directory the file is <c>token</c> beside the generated key it was signed with, rewritten on each start.
/// Without one the key lives only as long as the process, so the token does too: it goes in a new directory under the
/// temporary directory, readable by the user only, removed when the hub stops.
/// </remarks>
internal sealed class StartupTokenFile : IDisposable
{
    public const string FileName = "token";

    private readonly string? _temporaryDirectory;

    private StartupTokenFile(string path, string? temporaryDirectory)
    {
        Path = path;
        _temporaryDirectory = temporaryDirectory;
    }

    /// <summary>The file holding the token.</summary>
    public string Path { get; }

    /// <summary>
    /// Writes <paramref name="token"/> (0600, then renamed into place, so nobody ever reads a file with looser rights or
    /// half a token) in <paramref name="dataDir"/>, or in a new private temporary directory when there is none.
    /// </summary>
    public static StartupTokenFile Write(string token, string? dataDir)
    {
        string? temporary = null;
        string directory;
        if (string.IsNullOrEmpty(dataDir))
        {
            // Created 0700 on Unix (mkdtemp), so the name cannot be taken over by another user first.
            temporary = directory = Directory.CreateTempSubdirectory("herald-").FullName;
        }
        else
        {
            directory = System.IO.Path.GetFullPath(dataDir);
            Directory.CreateDirectory(directory);
        }

        var path = System.IO.Path.Combine(directory, FileName);
        var staging = path + "." + Environment.ProcessId + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(new FileStream(staging, options)))
        {
            writer.Write(token);
            writer.Write('\n');
        }

        if (!OperatingSystem.IsWindows())
        {
            // FileMode.Create keeps the rights of a file left over by a crashed start: set them whatever was there.
            File.SetUnixFileMode(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(staging, path, overwrite: true);
        return new StartupTokenFile(path, temporary);
    }

    /// <summary>Removes the temporary directory (the token in a data directory stays: its key does too).</summary>
    public void Dispose()
    {
        if (_temporaryDirectory is not null)
        {
            try
            {
                Directory.Delete(_temporaryDirectory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Someone removed or locked it: it holds a token for a key that no longer exists either way.
            }
        }
    }
}
