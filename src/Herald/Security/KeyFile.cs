using System.Text;

namespace Herald.Security;

/// <summary>
/// Reads a key from a file (<see cref="HeraldOptions.PublisherJwtKeyFile"/>, …): an HS256 secret or a PEM public key,
/// UTF-8, as the matching <c>*JwtKey</c> setting would hold it.
/// </summary>
/// <remarks>
/// Trailing line breaks are dropped (<c>echo secret &gt; file</c> and most editors add one; a secret meant to end in a
/// line break is not a thing anyone configures), and nothing else: spaces are part of a secret. An empty file is an
/// error, not "no key": it is what a file being rewritten looks like for a moment.
/// </remarks>
internal static class KeyFile
{
    /// <summary>
    /// Past this the file is not a key: PEM public keys are under 1 KiB (RSA 4096: about 800 bytes). The cap keeps a
    /// wrong path (a log, <c>/dev/zero</c>) from being read whole.
    /// </summary>
    internal const int MaxBytes = 64 * 1024;

    /// <summary>The key in <paramref name="path"/>, or <c>false</c> and a one-line reason that never quotes the file.</summary>
    public static bool TryRead(string path, out string key, out string reason)
    {
        key = string.Empty;
        if (Directory.Exists(path))
        {
            // Opening a directory fails as "access denied", which would send the operator after the wrong problem.
            reason = "it is a directory; name the key file in it";
            return false;
        }

        byte[] bytes;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            var buffer = new byte[MaxBytes + 1];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = file.Read(buffer, length, buffer.Length - length)) > 0)
            {
                length += read;
            }

            if (length > MaxBytes)
            {
                reason = $"it is larger than {MaxBytes / 1024} KiB, so it is not a key";
                return false;
            }

            bytes = buffer[..length];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            reason = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "it does not exist",
                UnauthorizedAccessException => "the hub may not read it",
                _ => "it cannot be read (" + e.GetType().Name + ")",
            };
            return false;
        }

        var text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetString(bytes);
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        text = text.TrimEnd('\r', '\n');
        if (text.Length == 0)
        {
            reason = "it is empty";
            return false;
        }

        key = text;
        reason = string.Empty;
        return true;
    }
}
