using Microsoft.AspNetCore.Http;

namespace Herald.Mercure;

/// <summary>Error answers: a status and one line saying what is wrong, never a stack trace.</summary>
internal static class ErrorResponse
{
    public static Task WriteAsync(HttpContext context, int status, string reason)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        return context.Response.WriteAsync(reason + "\n", context.RequestAborted);
    }
}
