// Answers URL Pattern questions with the npm 'urlpattern-polyfill' (the reference for Herald's C# engine); run by
// tests/Herald.Tests/Topics/UrlPatterns/UrlPatternDifferentialTests.cs.
//
//   node urlpattern.mjs <cases.json>
//
// cases.json: [{"pattern": "...", "base": "https://hub/.well-known/mercure", "inputs": ["topic", ...]}, ...]
// stdout, one line: [{"error": false, "matches": [true, false, ...]}, {"error": true, "matches": []}, ...]
// Each pattern is built as Herald builds it for Mercure 1.0 (ignoreCase off; the hub URL is the base of a relative
// pattern only: new URLPattern(pattern), else new URLPattern(pattern, hubUrl)) and each topic is tested against the hub
// URL (pattern.test(topic, hubUrl)); a topic that is not a URL reference matches nothing.
import { URLPattern } from 'urlpattern-polyfill/urlpattern';
import { readFileSync } from 'node:fs';

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node urlpattern.mjs <cases.json>');
  process.exit(64);
}

const answers = JSON.parse(readFileSync(file, 'utf8')).map(({ pattern, base, inputs }) => {
  let compiled;
  try {
    compiled = new URLPattern(pattern, { ignoreCase: false });
  } catch {
    try {
      compiled = new URLPattern(pattern, base, { ignoreCase: false });
    } catch {
      return { error: true, matches: [] };
    }
  }

  return { error: false, matches: inputs.map(input => {
    try {
      return compiled.test(input, base);
    } catch {
      return false;
    }
  }) };
});
process.stdout.write(JSON.stringify(answers) + '\n');
