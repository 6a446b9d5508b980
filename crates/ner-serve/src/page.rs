//! The page at `/`: a text box, the entities highlighted by type (their
//! confidence on hover) and a table of them. Served from the binary, with
//! no external script, style or font.

pub const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ner-serve</title>
<style>
body { font-family: sans-serif; max-width: 56em; margin: 2em auto; padding: 0 1em; color: #222; }
textarea { width: 100%; height: 7em; font-size: 1em; }
#output { line-height: 2.2; margin: 1em 0; }
.ent { padding: 0.15em 0.3em; border-radius: 0.3em; }
.ent sub { font-size: 0.65em; font-weight: bold; margin-left: 0.3em; }
.PER { background: #fde2a7; } .ORG { background: #c6e2ff; } .LOC { background: #c8f0c8; }
.MISC { background: #e8d4f8; } .other { background: #eee; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
#error { color: #b00; }
</style>
</head>
<body>
<h1>ner-serve</h1>
<p id="model"></p>
<textarea id="text">EU rejects German call to boycott British lamb.
Peter Blackburn met the U.N. envoy in Brussels on Monday.</textarea>
<p><button id="tag">Tag</button> <span id="error"></span></p>
<div id="output"></div>
<table id="table"><thead><tr><th>entity</th><th>type</th><th>confidence</th><th>tokens</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
const known = ["PER", "ORG", "LOC", "MISC"];
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
async function tag() {
  const error = document.getElementById("error");
  error.textContent = "";
  const out = document.getElementById("output");
  const body = document.querySelector("#table tbody");
  out.replaceChildren();
  body.replaceChildren();
  let answer;
  try {
    const response = await fetch("/v1/tag", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({text: document.getElementById("text").value}),
    });
    answer = await response.json();
    if (!response.ok) { error.textContent = answer.error; return; }
  } catch (e) { error.textContent = String(e); return; }
  for (const s of answer.sentences) {
    const line = el("div", "sentence");
    let t = 0;
    for (const e of s.entities) {
      for (; t < e.start; t++) line.append(s.tokens[t] + " ");
      const span = el("span", "ent " + (known.includes(e.type) ? e.type : "other"), e.text);
      span.dataset.type = e.type;
      span.title = e.type + " " + (100 * e.confidence).toFixed(1) + "%";
      span.append(el("sub", "", e.type));
      line.append(span, " ");
      t = e.end;
      const row = el("tr");
      row.append(el("td", "", e.text), el("td", "", e.type),
        el("td", "", e.confidence.toFixed(3)), el("td", "", e.start + "–" + e.end));
      body.append(row);
    }
    for (; t < s.tokens.length; t++) line.append(s.tokens[t] + " ");
    out.append(line);
  }
  document.body.dataset.tagged = String(answer.sentences.length);
}
document.getElementById("tag").addEventListener("click", tag);
fetch("/v1/model").then(r => r.json()).then(m => {
  document.getElementById("model").textContent =
    "model " + m.name + ": " + m.tags.length + " tags, best epoch " + m.best_epoch;
});
if (location.hash === "#tag") tag();
</script>
</body>
</html>
"##;
