using System.Net;

namespace Flywheel.Pipeline.Sampling.Remote;

/// <summary>An endpoint answered with an HTTP error; <see cref="Transient"/> ones (429, 5xx, 408) are worth retrying.</summary>
internal sealed class EndpointStatusException(string endpoint, HttpStatusCode status, string body)
    : Exception($"{endpoint} answered {(int)status} {status}{(body.Length > 0 ? ": " + body : "")}")
{
    public HttpStatusCode Status { get; } = status;

    public bool Transient => Status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)Status >= 500;
}
