using System.Diagnostics;
using Herald.DirectHttp;
using Microsoft.AspNetCore.Http;

namespace Herald.Diagnostics;

/// <summary>
/// The hub's spans on the <c>Herald</c> activity source (<see cref="SourceName"/>): a publish with its store append
/// inside, and a subscription's opening and replay. An app collects them with <c>AddSource("Herald")</c>.
/// </summary>
/// <remarks>
/// With nobody listening every start returns <c>null</c> at the cost of one check, and the callers do nothing more.
/// A span continues the caller's trace: under ASP.NET Core's request activity (which has read the request's W3C
/// <c>traceparent</c>) it is that activity's child; where there is none (a subscription served on Herald's own socket
/// path, or a host that creates no request activity) the request's <c>traceparent</c> and <c>tracestate</c> headers
/// are read here instead.
/// </remarks>
internal sealed class HeraldTracing : IDisposable
{
    /// <summary>The activity source's name: what <c>AddSource</c> takes.</summary>
    public const string SourceName = "Herald";

    private readonly ActivitySource _source = new(SourceName, typeof(HeraldTracing).Assembly.GetName().Version?.ToString());

    /// <summary>Whether anybody listens: without a listener no span is started.</summary>
    public bool Enabled => _source.HasListeners();

    /// <summary>A publish: through HTTP (<paramref name="request"/>) or from the app (<c>null</c>: under the app's own activity).</summary>
    public Activity? StartPublish(HttpRequest? request, string? topic)
    {
        var activity = Start("herald.publish", request);
        if (activity is { IsAllDataRequested: true } && topic is not null)
        {
            activity.SetTag("herald.topic", topic);
        }

        return activity;
    }

    /// <summary>The store append inside the current publish span.</summary>
    public Activity? StartAppend() => _source.HasListeners() ? _source.StartActivity("herald.store.append") : null;

    /// <summary>A subscription's opening (token, history lookup, registration) and replay: not the life of its stream.</summary>
    public Activity? StartSubscribe(HttpContext context)
    {
        var activity = Start("herald.subscribe", context.Request);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("herald.subscription.server", context.Features.Get<DirectResponse>() is null ? "kestrel" : "direct");
        }

        return activity;
    }

    /// <summary>Tags <paramref name="activity"/> with the HTTP answer; a 5xx marks it failed.</summary>
    public static void Answered(Activity? activity, int status)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("http.response.status_code", status);
        if (status >= 500)
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    public void Dispose() => _source.Dispose();

    private Activity? Start(string name, HttpRequest? request)
    {
        if (!_source.HasListeners())
        {
            return null;
        }

        if (Activity.Current is null && request is not null && RemoteParent(request.Headers) is { } parent)
        {
            return _source.StartActivity(name, ActivityKind.Internal, parent);
        }

        return _source.StartActivity(name, ActivityKind.Internal);
    }

    /// <summary>The caller's span from W3C trace context headers, or <c>null</c> when there is none that parses.</summary>
    private static ActivityContext? RemoteParent(IHeaderDictionary headers)
    {
        var traceparent = headers["traceparent"];
        if (traceparent.Count != 1 || string.IsNullOrEmpty(traceparent[0]))
        {
            return null;
        }

        var tracestate = headers["tracestate"];
        return ActivityContext.TryParse(traceparent[0], tracestate.Count == 1 ? tracestate[0] : null, isRemote: true, out var parent)
            ? parent
            : null;
    }
}
