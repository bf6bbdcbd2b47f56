#!/usr/bin/env python3
"""Builds the static HTML reference of m2's API.

Reads api-ref/openapi.json (what `m2 openapi` generates), the prose of
api-ref/README.md and the request/response examples of api-ref/examples/, and
writes one self-contained page, api-ref/build/index.html: no scripts, styles or
fonts from elsewhere, so it reads offline. Python 3 standard library only.

Usage: scripts/build-api-ref.sh [--src api-ref] [--out api-ref/build]
"""

import argparse
import html
import json
import os
import re
import sys

METHOD_ORDER = ["get", "post", "put", "patch", "delete"]


def esc(text):
    return html.escape(str(text), quote=True)


# ---------------------------------------------------------------------------
# A small Markdown subset: headings, paragraphs, lists, tables, fenced code,
# inline code, bold, italics and links. Enough for api-ref/README.md.
# ---------------------------------------------------------------------------

LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def inline(text):
    """Inline Markdown of one line or paragraph, HTML-escaped."""
    out = []
    pos = 0
    for m in LINK.finditer(text):
        out.append(inline_plain(text[pos:m.start()]))
        out.append('<a href="%s">%s</a>' % (link_target(m.group(2)), inline_plain(m.group(1))))
        pos = m.end()
    out.append(inline_plain(text[pos:]))
    return "".join(out)


def inline_plain(text):
    """Inline code, bold and italics."""
    out = []
    for part in re.split(r"(`[^`]*`)", text):
        if len(part) >= 2 and part.startswith("`") and part.endswith("`"):
            out.append("<code>%s</code>" % esc(part[1:-1]))
            continue
        s = esc(part)
        s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<em>\1</em>", s)
        out.append(s)
    return "".join(out)


def link_target(target):
    """Links to files beside the README point into the repository's api-ref/."""
    if re.match(r"^[a-z]+:", target) or target.startswith("#"):
        return esc(target)
    if target == "openapi.json":
        return "openapi.json"
    return esc("../" + target)


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def markdown(text, heading_offset=0):
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        if stripped.startswith("```"):
            lang = stripped[3:].strip()
            i += 1
            code = []
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            i += 1
            cls = ' class="lang-%s"' % esc(lang) if lang else ""
            out.append("<pre%s><code>%s</code></pre>" % (cls, esc("\n".join(code))))
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if m:
            level = min(6, len(m.group(1)) + heading_offset)
            title = m.group(2)
            out.append('<h%d id="guide-%s">%s</h%d>' % (level, slug(title), inline(title), level))
            i += 1
            continue
        if stripped.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i].strip())
                i += 1
            out.append(table(rows))
            continue
        if re.match(r"^[-*]\s+", stripped):
            items = []
            while i < len(lines) and lines[i].strip():
                s = lines[i].strip()
                if re.match(r"^[-*]\s+", s):
                    items.append(re.sub(r"^[-*]\s+", "", s))
                elif items:
                    items[-1] += " " + s
                i += 1
            out.append("<ul>%s</ul>" % "".join("<li>%s</li>" % inline(it) for it in items))
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not re.match(
            r"^(#{1,6}\s|```|\||[-*]\s)", lines[i].strip()
        ):
            para.append(lines[i].strip())
            i += 1
        out.append("<p>%s</p>" % inline(" ".join(para)))
    return "\n".join(out)


def table(rows):
    def cells(row):
        return [c.strip() for c in row.strip().strip("|").split("|")]

    head = cells(rows[0])
    body = [cells(r) for r in rows[1:] if not re.match(r"^\|[\s:|-]+\|?$", r)]
    h = "".join("<th>%s</th>" % inline(c) for c in head)
    b = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % inline(c) for c in r) for r in body)
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (h, b)


# ---------------------------------------------------------------------------
# The OpenAPI document
# ---------------------------------------------------------------------------

def schema_type(schema):
    """A short description of a schema's type."""
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return '<a href="#schema-%s">%s</a>' % (esc(name), esc(name))
    t = schema.get("type")
    if isinstance(t, list):
        t = " or ".join(x for x in t)
    if t == "array":
        items = schema_type(schema.get("items", {}))
        return "array of %s" % items if items else "array"
    if t == "object" and "properties" in schema:
        keys = []
        for k, v in schema["properties"].items():
            inner = schema_type(v) if v.get("type") == "array" or "$ref" in v else ""
            keys.append("%s: %s" % (esc(k), inner) if inner else esc(k))
        return "object {%s}" % ", ".join(keys)
    fmt = schema.get("format")
    if t and fmt:
        return "%s (%s)" % (esc(t), esc(fmt))
    return esc(t or "any")


def body_schemas(content):
    """(media type, schema HTML) of a request or response body."""
    out = []
    for media, c in (content or {}).items():
        out.append((media, schema_type(c.get("schema", {}))))
    return out


def load_examples(directory):
    by_op = {}
    general = []
    if not os.path.isdir(directory):
        return by_op, general
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            ex = json.load(f)
        ex["_name"] = name[:-5]
        op = ex.get("operation")
        if op:
            by_op.setdefault(op, []).append(ex)
        else:
            general.append(ex)
    for exs in by_op.values():
        # The plain example first, then the named cases.
        exs.sort(key=lambda e: ("." in e["_name"], e["_name"]))
    return by_op, general


def example_title(ex):
    name = ex["_name"]
    case = name.split(".", 1)[1] if "." in name else ""
    status = ex["response"]["status"]
    return "%s%s" % (case.replace("_", " ") + " — " if case else "", "HTTP %d" % status)


def render_body(body):
    if body is None:
        return ""
    if isinstance(body, str):
        return "<pre><code>%s</code></pre>" % esc(body)
    text = json.dumps(body, indent=2, ensure_ascii=False)
    return "<pre><code>%s</code></pre>" % esc(text)


def render_example(ex):
    req, resp = ex["request"], ex["response"]
    status = resp["status"]
    kind = "ok" if status < 400 else "err"
    parts = ['<details class="example %s"%s>' % (kind, " open" if "." not in ex["_name"] else "")]
    parts.append('<summary>Example: %s</summary>' % esc(example_title(ex)))
    head = "%s %s" % (req["method"], req["path"])
    headers = "".join("\n%s: %s" % (k, v) for k, v in req.get("headers", {}).items())
    parts.append('<div class="exreq"><div class="label">Request</div><pre><code>%s%s</code></pre>%s</div>'
                 % (esc(head), esc(headers), render_body(req.get("body"))))
    rheaders = "".join("\n%s: %s" % (k, v) for k, v in resp.get("headers", {}).items())
    parts.append('<div class="exresp"><div class="label">Response</div><pre><code>HTTP %d%s</code></pre>%s</div>'
                 % (status, esc(rheaders), render_body(resp.get("body"))))
    if isinstance(resp.get("body"), dict) and isinstance(resp["body"].get("error_message"), str):
        try:
            inner = json.loads(resp["body"]["error_message"])
            parts.append('<div class="label">error_message, decoded</div>%s' % render_body(inner))
        except ValueError:
            pass
    parts.append("</details>")
    return "\n".join(parts)


def version_note(op):
    if "x-min-microversion" in op:
        return '<span class="badge ver">since %s</span>' % esc(op["x-min-microversion"])
    if op.get("x-m2-extension"):
        return '<span class="badge m2">m2 extension</span>'
    return '<span class="badge all">1.1+</span>'


def render_operation(path, method, op, examples):
    oid = op.get("operationId", "%s-%s" % (method, slug(path)))
    out = ['<section class="op" id="%s">' % esc(oid)]
    out.append('<h3><span class="method %s">%s</span> <code class="path">%s</code> %s</h3>'
               % (method, method.upper(), esc(path), version_note(op)))
    if op.get("summary"):
        out.append('<p class="summary">%s</p>' % esc(op["summary"]))
    if op.get("description"):
        out.append(markdown(op["description"]))
    params = [p for p in op.get("parameters", []) if p.get("in") != "header"]
    if params:
        rows = "".join(
            "<tr><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
            % (esc(p["name"]), esc(p["in"]), schema_type(p.get("schema", {})),
               "yes" if p.get("required") else "no", inline(p.get("description", "")))
            for p in params
        )
        out.append("<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>type</th>"
                   "<th>required</th><th>description</th></tr></thead><tbody>%s</tbody></table>" % rows)
    rb = op.get("requestBody")
    if rb:
        kinds = ", ".join("%s: %s" % (esc(m), s) for m, s in body_schemas(rb.get("content")))
        out.append("<h4>Request body</h4><p>%s%s</p>"
                   % (inline(rb.get("description", "")), " <small>(%s)</small>" % kinds if kinds else ""))
    rows = []
    for status, resp in op.get("responses", {}).items():
        kinds = ", ".join(s for _, s in body_schemas(resp.get("content")))
        cls = "err" if status[0] in "45" else "ok"
        rows.append('<tr class="%s"><td>%s</td><td>%s</td><td>%s</td></tr>'
                    % (cls, esc(status), inline(resp.get("description", "")), kinds))
    out.append("<h4>Responses</h4><table><thead><tr><th>status</th><th>meaning</th><th>body</th></tr>"
               "</thead><tbody>%s</tbody></table>" % "".join(rows))
    for ex in examples:
        out.append(render_example(ex))
    out.append("</section>")
    return "\n".join(out)


def render_schema(name, schema):
    out = ['<section class="schema" id="schema-%s"><h3>%s</h3>' % (esc(name), esc(name))]
    if schema.get("description"):
        out.append(markdown(schema["description"]))
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    if props:
        rows = "".join(
            "<tr><td><code>%s</code>%s</td><td>%s</td><td>%s</td></tr>"
            % (esc(k), " *" if k in required else "", schema_type(v),
               inline(v.get("description", "")) + (
                   "<br>example: <code>%s</code>" % esc(v["example"]) if "example" in v else ""))
            for k, v in props.items()
        )
        out.append("<table><thead><tr><th>field</th><th>type</th><th>description</th></tr></thead>"
                   "<tbody>%s</tbody></table>" % rows)
    out.append("</section>")
    return "\n".join(out)


CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2430;display:flex}
nav{width:300px;flex:none;height:100vh;overflow-y:auto;position:sticky;top:0;background:#f4f6f8;
 border-right:1px solid #dde2e8;padding:12px 14px;box-sizing:border-box;font-size:13px}
nav a{color:#1d2430;text-decoration:none}nav a:hover{text-decoration:underline}
nav ul{list-style:none;padding-left:10px;margin:2px 0 8px}nav .tag{font-weight:600;margin-top:8px}
nav li{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
nav .m{display:inline-block;width:44px;font:11px ui-monospace,monospace}
nav .m.get{color:#1f6feb}nav .m.post{color:#1a7f37}nav .m.put{color:#9a6700}
nav .m.patch{color:#8250df}nav .m.delete{color:#cf222e}
main{flex:1;min-width:0;padding:20px 36px;max-width:1100px}
h1{margin-top:0}h2{border-bottom:2px solid #dde2e8;padding-bottom:4px;margin-top:40px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
pre{background:#f6f8fa;border:1px solid #e1e4e8;padding:8px 10px;overflow-x:auto;border-radius:4px}
table{border-collapse:collapse;margin:6px 0 12px;width:100%}
th,td{border:1px solid #dde2e8;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f8}tr.err td:first-child{color:#a02020}tr.ok td:first-child{color:#1a7f37}
section.op{border:1px solid #dde2e8;border-radius:6px;padding:4px 16px 10px;margin:18px 0}
section.op h3{font-size:16px}
.method{display:inline-block;min-width:58px;text-align:center;color:#fff;border-radius:4px;padding:1px 6px;
 font-size:13px}
.method.get{background:#1f6feb}.method.post{background:#1a7f37}.method.put{background:#9a6700}
.method.patch{background:#8250df}.method.delete{background:#cf222e}
.badge{font-size:12px;font-weight:normal;border-radius:10px;padding:1px 8px;margin-left:6px}
.badge.ver{background:#fff1c2}.badge.m2{background:#d8f3dc}.badge.all{background:#eef1f4}
.summary{font-weight:600}
details.example{margin:8px 0;border-left:3px solid #1a7f37;padding-left:10px}
details.example.err{border-left-color:#cf222e}
details summary{cursor:pointer;font-weight:600}
.label{font-size:12px;text-transform:uppercase;color:#57606a;margin-top:6px}
"""


def build(src, out_dir):
    with open(os.path.join(src, "openapi.json"), encoding="utf-8") as f:
        doc = json.load(f)
    prose = ""
    readme = os.path.join(src, "README.md")
    if os.path.exists(readme):
        with open(readme, encoding="utf-8") as f:
            prose = f.read()
        # The page has its own title.
        prose = re.sub(r"\A#\s+[^\n]*\n", "", prose)
    by_op, general = load_examples(os.path.join(src, "examples"))

    tags = [t["name"] for t in doc.get("tags", [])]
    tag_desc = {t["name"]: t.get("description", "") for t in doc.get("tags", [])}
    ops_by_tag = {}
    for path, item in doc["paths"].items():
        for method in METHOD_ORDER:
            op = item.get(method)
            if not op:
                continue
            for tag in op.get("tags") or ["Other"]:
                if tag not in tags:
                    tags.append(tag)
                ops_by_tag.setdefault(tag, []).append((path, method, op))
    for ops in ops_by_tag.values():
        ops.sort(key=lambda x: (x[0], METHOD_ORDER.index(x[1])))

    info = doc.get("info", {})
    title = info.get("title", "API reference")
    nav = ['<nav><div><strong>%s</strong> %s</div>' % (esc(title), esc(info.get("version", "")))]
    nav.append('<ul><li><a href="#guide">Conventions</a></li><li><a href="#errors">Errors</a></li>'
               '<li><a href="#schemas">Schemas</a></li></ul>')
    body = ['<main><h1>%s</h1>' % esc(title)]
    body.append('<p>%s</p>' % inline(info.get("description", "")))
    body.append('<p><small>API version %s. Built from <code>openapi.json</code> (generated by '
                '<code>m2 openapi</code>), <code>README.md</code> and the examples in '
                '<code>examples/</code>, which the test suite records from a live m2.</small></p>'
                % esc(info.get("version", "")))
    body.append('<h2 id="guide">Conventions</h2>')
    body.append(markdown(prose, heading_offset=1))
    body.append('<h2 id="errors">Errors every resource shares</h2>')
    body.append('<p>Every error body is an <a href="#schema-ErrorBody">ErrorBody</a>. '
                'These answers come from routing, before any operation:</p>')
    for ex in general:
        body.append(render_example(ex))
    for tag in tags:
        ops = ops_by_tag.get(tag)
        if not ops:
            continue
        tid = "tag-" + slug(tag)
        nav.append('<div class="tag"><a href="#%s">%s</a></div><ul>' % (tid, esc(tag)))
        body.append('<h2 id="%s">%s</h2>' % (tid, esc(tag)))
        if tag_desc.get(tag):
            body.append("<p>%s</p>" % inline(tag_desc[tag]))
        for path, method, op in ops:
            oid = op.get("operationId", "%s-%s" % (method, slug(path)))
            nav.append('<li><a href="#%s" title="%s %s"><span class="m %s">%s</span> %s</a></li>'
                       % (esc(oid), esc(method.upper()), esc(path), method, esc(method.upper()),
                          esc(op.get("summary") or path)))
            body.append(render_operation(path, method, op, by_op.get(oid, [])))
        nav.append("</ul>")
    nav.append('<div class="tag"><a href="#schemas">Schemas</a></div><ul>')
    body.append('<h2 id="schemas">Schemas</h2>')
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        nav.append('<li><a href="#schema-%s">%s</a></li>' % (esc(name), esc(name)))
        body.append(render_schema(name, schema))
    nav.append("</ul></nav>")
    body.append("</main>")

    page = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>%s</title><style>%s</style></head><body>\n%s\n%s\n</body></html>\n"
            % (esc(title), CSS, "\n".join(nav), "\n".join(body)))
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, "index.html")
    with open(target, "w", encoding="utf-8") as f:
        f.write(page)
    # The machine-readable document beside the page.
    with open(os.path.join(out_dir, "openapi.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    count = sum(len(v) for v in ops_by_tag.values())
    examples = sum(len(v) for v in by_op.values()) + len(general)
    print("%s: %d operations, %d examples" % (target, count, examples))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description="Build the static HTML API reference of m2.")
    ap.add_argument("--src", default=os.path.join(root, "api-ref"),
                    help="directory with openapi.json, README.md and examples/ (default: api-ref)")
    ap.add_argument("--out", default=os.path.join(root, "api-ref", "build"),
                    help="output directory (default: api-ref/build)")
    args = ap.parse_args()
    build(args.src, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
