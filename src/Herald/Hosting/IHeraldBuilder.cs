namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Configures the Herald hub registered by <c>AddHerald()</c>.</summary>
public interface IHeraldBuilder
{
    /// <summary>The app's services.</summary>
    IServiceCollection Services { get; }
}
