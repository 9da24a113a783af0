using System.Globalization;

namespace Herald.Tests.Diagnostics;

/// <summary>
/// Prometheus text exposition (what <c>/metrics</c> serves), parsed: one sample per line, <c>name{label="value",…} number</c>;
/// comments (<c># HELP</c>, <c># TYPE</c>) are skipped.
/// </summary>
internal sealed class MetricsText
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    private MetricsText(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var i = 0;
            while (i < line.Length && line[i] != '{' && line[i] != ' ')
            {
                i++;
            }

            var name = line[..i];
            if (i < line.Length && line[i] == '{')
            {
                i++;
                while (line[i] != '}')
                {
                    var eq = line.IndexOf('=', i);
                    var key = line[i..eq];
                    i = eq + 2; // past ="
                    var value = new System.Text.StringBuilder();
                    while (line[i] != '"')
                    {
                        if (line[i] == '\\')
                        {
                            i++;
                            value.Append(line[i] == 'n' ? '\n' : line[i]);
                        }
                        else
                        {
                            value.Append(line[i]);
                        }

                        i++;
                    }

                    labels[key] = value.ToString();
                    i++; // past the closing quote
                    if (line[i] == ',')
                    {
                        i++;
                    }
                }

                i++; // past }
            }

            var number = line[i..].Trim().Split(' ')[0];
            _samples.Add((name, labels, double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture)));
        }
    }

    public static MetricsText Parse(string text) => new(text);

    /// <summary>The sum of the samples named <paramref name="name"/> that carry every label given (0 when none does).</summary>
    public double Sum(string name, params (string Key, string Value)[] labels)
        => _samples
            .Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value))
            .Sum(s => s.Value);

    /// <summary>Whether any sample is named <paramref name="name"/>.</summary>
    public bool Has(string name) => _samples.Any(s => s.Name == name);
}
