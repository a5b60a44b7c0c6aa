/**
 * Markdown from agents, rendered safely: marked's lexer gives tokens, and this module turns them
 * into Preact elements. No HTML string is ever parsed: raw HTML in the text is shown as text,
 * links keep only http(s)/mailto/relative targets, images become links (nothing is loaded from
 * elsewhere; the CSP forbids it too). Broken Markdown still renders (marked is tolerant); if the
 * lexer throws anyway, the text is shown as it is.
 */
import type { ComponentChildren, VNode } from "preact";
import { lexer, type Token, type Tokens } from "marked";
import { safeHref } from "./util";

/** Larger texts are shown as plain text (lexing megabytes would stall the page). */
export const MARKDOWN_MAX = 100_000;

const ENTITY = /&(#\d{1,7}|#x[0-9a-f]{1,6}|amp|lt|gt|quot|apos|nbsp|#39);/gi;
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

/** Decode the few character references CommonMark text may hold (never through innerHTML). */
export function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(ENTITY, (whole, body: string) => {
    const lower = body.toLowerCase();
    if (lower in NAMED) return NAMED[lower];
    const code = lower.startsWith("#x") ? parseInt(lower.slice(2), 16) : parseInt(lower.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

function inline(tokens: Token[] | undefined): ComponentChildren[] {
  return (tokens ?? []).map((t, i) => inlineToken(t, i));
}

function inlineToken(t: Token, i: number): ComponentChildren {
  switch (t.type) {
    case "text": {
      const tt = t as Tokens.Text;
      return tt.tokens && tt.tokens.length ? <>{inline(tt.tokens)}</> : decodeEntities(tt.text);
    }
    case "escape":
      return (t as Tokens.Escape).text;
    case "strong":
      return <strong key={i}>{inline((t as Tokens.Strong).tokens)}</strong>;
    case "em":
      return <em key={i}>{inline((t as Tokens.Em).tokens)}</em>;
    case "del":
      return <del key={i}>{inline((t as Tokens.Del).tokens)}</del>;
    case "codespan":
      return <code key={i}>{(t as Tokens.Codespan).text}</code>;
    case "br":
      return <br key={i} />;
    case "link": {
      const l = t as Tokens.Link;
      const href = safeHref(l.href);
      const body = inline(l.tokens);
      if (!href) return <span key={i}>{body}</span>;
      return (
        <a key={i} href={href} title={l.title ?? undefined} rel="noopener noreferrer nofollow" target="_blank">
          {body}
        </a>
      );
    }
    case "image": {
      const im = t as Tokens.Image;
      const href = safeHref(im.href);
      const label = `image: ${im.text || im.href}`;
      return href ? (
        <a key={i} href={href} rel="noopener noreferrer nofollow" target="_blank">
          {label}
        </a>
      ) : (
        label
      );
    }
    case "html":
      return t.raw; // raw HTML is text here
    case "checkbox":
      return <input key={i} type="checkbox" checked={(t as Tokens.Checkbox).checked} disabled />;
    default:
      return "raw" in t ? String(t.raw) : "";
  }
}

function block(t: Token, i: number): ComponentChildren {
  switch (t.type) {
    case "space":
    case "def":
      return null;
    case "paragraph":
      return <p key={i}>{inline((t as Tokens.Paragraph).tokens)}</p>;
    case "heading": {
      const h = t as Tokens.Heading;
      const level = Math.min(6, h.depth + 2); // the page has its own h1/h2
      const Tag = `h${level}` as "h3";
      return <Tag key={i}>{inline(h.tokens)}</Tag>;
    }
    case "code": {
      const c = t as Tokens.Code;
      const lang = (c.lang ?? "").replace(/[^\w+-]/g, "").slice(0, 20);
      return (
        <pre key={i} class="code">
          <code data-lang={lang || undefined}>{c.text}</code>
        </pre>
      );
    }
    case "blockquote":
      return <blockquote key={i}>{blocks((t as Tokens.Blockquote).tokens)}</blockquote>;
    case "hr":
      return <hr key={i} />;
    case "list": {
      const l = t as Tokens.List;
      const items = l.items.map((item, j) => (
        <li key={j} class={item.task ? "task" : undefined}>
          {item.loose ? blocks(item.tokens) : item.tokens.map((x, k) => (x.type === "text" ? inlineToken(x, k) : block(x, k)))}
        </li>
      ));
      return l.ordered ? (
        <ol key={i} start={typeof l.start === "number" ? l.start : undefined}>
          {items}
        </ol>
      ) : (
        <ul key={i}>{items}</ul>
      );
    }
    case "table": {
      const tb = t as Tokens.Table;
      const cls = (a: string | null) => (a ? `al-${a}` : undefined);
      return (
        <div key={i} class="table-wrap">
          <table>
            <thead>
              <tr>
                {tb.header.map((c, j) => (
                  <th key={j} class={cls(c.align)}>
                    {inline(c.tokens)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {tb.rows.map((row, r) => (
                <tr key={r}>
                  {row.map((c, j) => (
                    <td key={j} class={cls(c.align)}>
                      {inline(c.tokens)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    }
    case "html":
      return (
        <pre key={i} class="raw-html">
          {t.raw}
        </pre>
      );
    case "text": {
      const tt = t as Tokens.Text;
      return <p key={i}>{tt.tokens ? inline(tt.tokens) : decodeEntities(tt.text)}</p>;
    }
    default:
      return <p key={i}>{"raw" in t ? String(t.raw) : ""}</p>;
  }
}

function blocks(tokens: Token[]): ComponentChildren[] {
  return tokens.map((t, i) => block(t, i));
}

/** The elements of a Markdown text (plain text when it is too large or cannot be lexed). */
export function renderMarkdown(text: string): VNode {
  if (text.length > MARKDOWN_MAX) return <div class="md plain">{text}</div>;
  try {
    return <div class="md">{blocks(lexer(text, { gfm: true }))}</div>;
  } catch {
    return <div class="md plain">{text}</div>;
  }
}
