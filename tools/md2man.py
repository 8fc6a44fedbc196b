#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""md2man: the Markdown that gamevm's docs/ use, as a man page (groff -man).

    md2man.py --name gamevm --section 1 --summary "..." IN.md OUT.1

Handles what docs/*.md use and nothing more: ATX headings (# title, skipped;
## section -> .SH; ### and deeper -> .SS), paragraphs, bullet and numbered
lists (with continuation paragraphs, code blocks and lists inside an item),
fenced and indented code blocks, tables (as tagged paragraphs: the first
cell is the tag, the other cells follow under their column's heading, which
reads better in a terminal than a table wider than it), and inline code,
**bold**, *italic*, [links](url) and backslash escapes. Lines between
<!-- md2man: skip --> and <!-- md2man: end --> are left out, and so are
one-line HTML comments. Anything else is text. Python 3 standard library
only; no pandoc.
"""

import argparse
import datetime
import os
import re
import sys

# --- inline ------------------------------------------------------------------

INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?P<codetext>.+?)(?P=ticks))"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|(?<![\w*\\])\*(?P<ital>[^\s*](?:[^*]*?[^\s*])?)\*(?![\w*])"
    r"|\[(?P<ltext>[^\]]+)\]\((?P<url>[^)\s]+)\)"
    r"|\\(?P<escaped>[\\`*_{}\[\]()#+\-.!|<>~])"
)


def esc_char(c):
    """One character of text for roff."""
    if c == "\\":
        return "\\e"
    if ord(c) > 127:
        return "\\[u%04X]" % ord(c)
    return c


LONG_WORD = 40


def esc_text(s, literal=False, breaks=True):
    """Plain text for roff; literal (code) also turns '-' into a real minus.

    A word longer than a line can be (a QEMU option, a path) may break after
    ',', '/' or '=' ("\\:"), or groff could not fit it into a filled line.
    """
    out = []
    for word in re.split(r"(\s+)", s):
        long_word = breaks and len(word) > LONG_WORD
        for c in word:
            if literal and c == "-":
                out.append("\\-")
            elif literal and c == "'":
                out.append("\\(aq")
            else:
                out.append(esc_char(c))
            if long_word and c in ",/=":
                out.append("\\:")
    return "".join(out)


def inline(s, font="R"):
    """Markdown inline markup in s as roff text, in the surrounding font."""
    out = []
    pos = 0
    for m in INLINE.finditer(s):
        out.append(esc_text(s[pos : m.start()]))
        pos = m.end()
        if m.group("code") is not None:
            code = m.group("codetext")
            if code.startswith(" ") and code.endswith(" ") and code.strip():
                code = code[1:-1]
            if font == "B":
                out.append(esc_text(code, literal=True))
            else:
                out.append("\\fB" + esc_text(code, literal=True) + "\\f" + font)
        elif m.group("bold") is not None:
            out.append("\\fB" + inline(m.group("bold"), "B") + "\\f" + font)
        elif m.group("ital") is not None:
            out.append("\\fI" + inline(m.group("ital"), "I") + "\\f" + font)
        elif m.group("ltext") is not None:
            text = inline(m.group("ltext"), font)
            url = m.group("url")
            if re.match(r"[a-z]+://", url):
                text += " \\(la" + esc_text(url, literal=True) + "\\(ra"
            out.append(text)
        else:
            out.append(esc_text(m.group("escaped")))
    out.append(esc_text(s[pos:]))
    return "".join(out)


def line(text):
    """A text line for roff: a leading '.' or "'" would make it a request."""
    if text.startswith((".", "'")):
        return "\\&" + text
    return text


# --- blocks ------------------------------------------------------------------

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^(`{3,}|~{3,})")
ITEM = re.compile(r"^( {0,3})([-*+]|\d{1,9}[.)])( +)(\S.*)?$")
TABLE_SEP = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def indent_of(s):
    return len(s) - len(s.lstrip(" "))


def split_row(s):
    """The cells of a table row; '|' inside a code span does not split."""
    s = s.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells, cur, ticks, i = [], [], 0, 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur.append(s[i : i + 2])
            i += 2
            continue
        if c == "`":
            j = i
            while j < len(s) and s[j] == "`":
                j += 1
            n = j - i
            if ticks == 0:
                ticks = n
            elif ticks == n:
                ticks = 0
            cur.append(s[i:j])
            i = j
            continue
        if c == "|" and ticks == 0:
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    cells.append("".join(cur).strip())
    return cells


def starts_block(s):
    """Whether line s starts a block that ends a paragraph."""
    return bool(HEADING.match(s) or FENCE.match(s.lstrip()) or ITEM.match(s)) or (
        s.lstrip().startswith("|")
    )


def parse(lines):
    """Lines (already dedented) to a list of blocks."""
    blocks = []
    i, n = 0, len(lines)
    while i < n:
        s = lines[i]
        if not s.strip():
            i += 1
            continue
        m = HEADING.match(s)
        if m:
            blocks.append(("heading", len(m.group(1)), m.group(2)))
            i += 1
            continue
        m = FENCE.match(s.lstrip())
        if m:
            fence, ind = m.group(1), indent_of(s)
            body = []
            i += 1
            while i < n and not lines[i].lstrip().startswith(fence):
                t = lines[i]
                body.append(t[min(ind, indent_of(t)) :])
                i += 1
            i += 1  # the closing fence
            blocks.append(("code", body))
            continue
        if indent_of(s) >= 4:
            body = []
            while i < n and (not lines[i].strip() or indent_of(lines[i]) >= 4):
                body.append(lines[i][4:])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            blocks.append(("code", body))
            continue
        if s.lstrip().startswith("|") and i + 1 < n and TABLE_SEP.match(lines[i + 1]):
            head = split_row(s)
            rows = []
            i += 2
            while i < n and lines[i].lstrip().startswith("|"):
                rows.append(split_row(lines[i]))
                i += 1
            blocks.append(("table", head, rows))
            continue
        m = ITEM.match(s)
        if m:
            ordered = m.group(2)[0].isdigit()
            items = []
            while i < n:
                m = ITEM.match(lines[i])
                if not m or m.group(2)[0].isdigit() != ordered:
                    break
                content_ind = len(m.group(1)) + len(m.group(2)) + len(m.group(3))
                body = [m.group(4) or ""]
                i += 1
                blank = False
                while i < n:
                    t = lines[i]
                    if not t.strip():
                        blank = True
                        body.append("")
                        i += 1
                        continue
                    if indent_of(t) >= content_ind:
                        body.append(t[content_ind:])
                    elif not blank and not starts_block(t):
                        body.append(t.lstrip())  # a lazy continuation line
                    else:
                        break
                    blank = False
                    i += 1
                while body and not body[-1].strip():
                    body.pop()
                items.append((m.group(2), parse(body)))
            blocks.append(("list", ordered, items))
            continue
        para = [s.strip()]
        i += 1
        while i < n and lines[i].strip() and not starts_block(lines[i]):
            para.append(lines[i].strip())
            i += 1
        blocks.append(("para", " ".join(para)))
    return blocks


# --- roff --------------------------------------------------------------------


def render(blocks, out, in_item=None):
    """Blocks as roff lines; in_item: the indent of the list item they are in."""
    first = True
    for b in blocks:
        kind = b[0]
        if kind == "heading":
            _, level, text = b
            if level == 1:
                continue
            out.append(".SH" if level == 2 else ".SS")
            out.append(line(inline(text)))
        elif kind == "para":
            if in_item is None:
                out.append(".PP")
            elif not first:
                out.append('.IP "" %d' % in_item)
            out.append(line(inline(b[1])))
        elif kind == "code":
            if in_item is None:
                out.append(".PP")
                out.append(".RS 4")
            elif not first:
                out.append('.IP "" %d' % in_item)
            out.append(".nf")
            for t in b[1]:
                out.append(line(esc_text(t.expandtabs(8), literal=True, breaks=False)))
            out.append(".fi")
            if in_item is None:
                out.append(".RE")
        elif kind == "list":
            _, ordered, items = b
            if in_item is not None:
                out.append(".RS %d" % in_item)
            width = 4 if ordered else 2
            for k, (marker, body) in enumerate(items):
                tag = "%d." % (k + 1) if ordered else "\\(bu"
                out.append(".IP %s %d" % (tag, width))
                render(body, out, width)
            if in_item is not None:
                out.append(".RE")
                out.append('.IP "" %d' % in_item)
            else:
                out.append(".PP")
        elif kind == "table":
            _, head, rows = b
            if in_item is not None:
                out.append(".RS %d" % in_item)
            for row in rows:
                row = row + [""] * (len(head) - len(row))
                out.append(".TP")
                out.append(line(inline(row[0])))
                rest = [(h, c) for h, c in zip(head[1:], row[1:])]
                if len(rest) == 1:
                    out.append(line(inline(rest[0][1])))
                    continue
                for k, (h, c) in enumerate(rest):
                    if k:
                        out.append(".br")
                    out.append(line("\\fI" + inline(h, "I") + ":\\fR " + inline(c)))
            if in_item is not None:
                out.append(".RE")
        first = False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True, help="the page's name: gamevm, gamevm.conf")
    ap.add_argument("--section", required=True, help="the manual section: 1, 5, ...")
    ap.add_argument("--summary", required=True, help="the NAME line after the dash")
    ap.add_argument("--version", default="", help="the source: 'gamevm 0.1.0'")
    ap.add_argument("--manual", default="", help="the manual's title")
    ap.add_argument("--see-also", default="", help="pages for SEE ALSO: 'gamevm(1) qemu(1)'")
    ap.add_argument("input")
    ap.add_argument("output")
    a = ap.parse_args()

    with open(a.input, encoding="utf-8") as f:
        lines = [t.rstrip("\n").rstrip() for t in f]
    # What only the Markdown page should say (that it is a man page's
    # source, say) sits between <!-- md2man: skip --> and <!-- md2man: end -->;
    # other HTML comments are dropped too.
    kept, skip = [], False
    for t in lines:
        if t.strip() == "<!-- md2man: skip -->":
            skip = True
        elif t.strip() == "<!-- md2man: end -->":
            skip = False
        elif not skip and not re.fullmatch(r"\s*<!--.*-->\s*", t):
            kept.append(t)
    lines = kept

    # SOURCE_DATE_EPOCH (reproducible builds), else the source's mtime.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    stamp = int(epoch) if epoch else int(os.stat(a.input).st_mtime)
    date = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).strftime("%Y-%m-%d")

    out = [
        '.\\" Generated by tools/md2man.py from %s; edit that file instead.'
        % os.path.basename(a.input),
        '.TH "%s" "%s" "%s" "%s" "%s"'
        % (a.name.upper(), a.section, date, a.version, a.manual),
        ".ad l",
        ".nh",
        ".SH NAME",
        "%s \\- %s" % (esc_text(a.name, literal=True), esc_text(a.summary)),
    ]
    blocks = parse(lines)
    # Text before the first section is the description.
    k = 0
    while k < len(blocks) and blocks[k][0] == "heading" and blocks[k][1] == 1:
        k += 1
    if k < len(blocks) and not (blocks[k][0] == "heading" and blocks[k][1] == 2):
        blocks.insert(k, ("heading", 2, "DESCRIPTION"))
    render(blocks, out)
    if a.see_also:
        out.append('.SH "SEE ALSO"')
        refs = []
        for ref in a.see_also.split():
            m = re.match(r"^(.+)\((\w+)\)$", ref)
            refs.append("\\fB%s\\fR(%s)" % (esc_text(m.group(1), literal=True), m.group(2))
                        if m else esc_text(ref))
        out.append(line(", ".join(refs)))

    # Two requests in a row where the first only sets up a paragraph are harmless,
    # but an empty .PP right before a heading is noise: drop it.
    cleaned = []
    for t in out:
        if t in (".SH", ".SS", ".PP", '.SH "SEE ALSO"') and cleaned and cleaned[-1] == ".PP":
            cleaned.pop()
        cleaned.append(t)
    text = "\n".join(cleaned) + "\n"
    tmp = a.output + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(text)
    os.replace(tmp, a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
