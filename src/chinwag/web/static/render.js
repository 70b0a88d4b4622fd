// Message text -> DOM nodes. A safe subset of Markdown: fenced code blocks, `code`,
// **bold**, *italics* / _italics_, [text](https://...) and bare http(s) links, :emoji:
// shortcodes, and mentions of the reader's name. Every piece of user text becomes a text
// node (textContent); nothing is ever parsed as HTML, so markup in a message is shown as
// written. Links are made only for http: and https: URLs.

export const EMOJI = {
  tada: "🎉", smile: "😄", grin: "😁", joy: "😂", wink: "😉", heart: "❤️", "+1": "👍",
  thumbsup: "👍", "-1": "👎", thumbsdown: "👎", fire: "🔥", rocket: "🚀", wave: "👋",
  eyes: "👀", thinking: "🤔", clap: "👏", pray: "🙏", sparkles: "✨", "100": "💯",
  check: "✅", white_check_mark: "✅", x: "❌", warning: "⚠️", coffee: "☕", cake: "🍰",
  beer: "🍺", sob: "😭", sweat_smile: "😅", ok_hand: "👌", muscle: "💪", bug: "🐛",
  star: "⭐", sunny: "☀️", rainbow: "🌈", party: "🥳", heart_eyes: "😍", shrug: "🤷",
};

const FENCE = /```(?:[a-zA-Z0-9_+-]{0,20}\n)?([\s\S]*?)```/g;
// One pass over a line of text: the first alternative that matches at a place wins.
const INLINE = new RegExp(
  [
    "`([^`\\n]+)`", // 1: inline code
    "\\*\\*([^*\\n]+)\\*\\*", // 2: bold
    "\\*([^*\\s][^*\\n]*)\\*", // 3: italics
    "(?<![\\w])_([^_\\s][^_\\n]*)_(?![\\w])", // 4: italics
    "\\[([^\\]\\n]{1,300})\\]\\((https?://[^\\s)]{1,2000})\\)", // 5, 6: a link with text
    "(https?://[^\\s<>\"]{1,2000}[^\\s<>\".,;:!?)\\]'])", // 7: a bare link
    ":([a-z0-9_+-]{1,30}):", // 8: an emoji shortcode
  ].join("|"),
  "g",
);

function safeUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.rel = "noopener noreferrer";
  a.target = "_blank";
  a.textContent = text;
  return a;
}

function element(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

// Text with the reader's name highlighted (as a whole word, any case).
function mentionNodes(text, me, out) {
  if (!me) {
    out.push(document.createTextNode(text));
    return;
  }
  const lower = text.toLowerCase();
  const name = me.toLowerCase();
  let start = 0;
  let at = lower.indexOf(name);
  while (at >= 0) {
    const before = at === 0 ? "" : lower[at - 1];
    const after = lower[at + name.length] || "";
    if (!/[\p{L}\p{N}_]/u.test(before) && !/[\p{L}\p{N}_]/u.test(after)) {
      if (at > start) out.push(document.createTextNode(text.slice(start, at)));
      const mark = element("span", text.slice(at, at + name.length));
      mark.className = "at-me";
      out.push(mark);
      start = at + name.length;
    }
    at = lower.indexOf(name, at + name.length);
  }
  if (start < text.length) out.push(document.createTextNode(text.slice(start)));
}

function inlineNodes(text, me, out) {
  let last = 0;
  INLINE.lastIndex = 0;
  for (let m = INLINE.exec(text); m !== null; m = INLINE.exec(text)) {
    let node = null;
    if (m[1] !== undefined) node = element("code", m[1]);
    else if (m[2] !== undefined) node = element("strong", m[2]);
    else if (m[3] !== undefined || m[4] !== undefined) node = element("em", m[3] ?? m[4]);
    else if (m[5] !== undefined) {
      const href = safeUrl(m[6]);
      node = href ? link(href, m[5]) : null;
    } else if (m[7] !== undefined) {
      const href = safeUrl(m[7]);
      node = href ? link(href, m[7]) : null;
    } else if (m[8] !== undefined && Object.hasOwn(EMOJI, m[8])) {
      node = document.createTextNode(EMOJI[m[8]]);
    }
    if (node === null) continue; // not what it looked like: stays text
    if (m.index > last) mentionNodes(text.slice(last, m.index), me, out);
    out.push(node);
    last = m.index + m[0].length;
  }
  if (last < text.length) mentionNodes(text.slice(last), me, out);
}

// The nodes of a message body; `me` is the reader's name (highlighted where mentioned).
export function renderText(text, me) {
  const out = [];
  let last = 0;
  FENCE.lastIndex = 0;
  for (let m = FENCE.exec(text); m !== null; m = FENCE.exec(text)) {
    if (m.index > last) inlineNodes(text.slice(last, m.index), me, out);
    const pre = document.createElement("pre");
    pre.append(element("code", m[1].replace(/\n$/, "")));
    out.push(pre);
    last = m.index + m[0].length;
  }
  if (last < text.length) inlineNodes(text.slice(last), me, out);
  return out;
}

// Does the text mention this name (a whole word, any case)?
export function mentions(text, me) {
  if (!me) return false;
  const lower = text.toLowerCase();
  const name = me.toLowerCase();
  for (let at = lower.indexOf(name); at >= 0; at = lower.indexOf(name, at + 1)) {
    const before = at === 0 ? "" : lower[at - 1];
    const after = lower[at + name.length] || "";
    if (!/[\p{L}\p{N}_]/u.test(before) && !/[\p{L}\p{N}_]/u.test(after)) return true;
  }
  return false;
}

// A colour class per person: the same name, the same colour, on every screen.
export function nameClass(name) {
  let hash = 0;
  for (const ch of name.toLowerCase()) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return `n${hash % 12}`;
}

// Text with every occurrence of `query`'s words marked (search results).
export function highlighted(text, query) {
  const words = query.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
  const out = [];
  const lower = text.toLowerCase();
  let start = 0;
  while (start < text.length) {
    let best = -1;
    let size = 0;
    for (const word of words) {
      const at = lower.indexOf(word, start);
      if (at >= 0 && (best < 0 || at < best)) [best, size] = [at, word.length];
    }
    if (best < 0) break;
    if (best > start) out.push(document.createTextNode(text.slice(start, best)));
    out.push(element("mark", text.slice(best, best + size)));
    start = best + size;
  }
  if (start < text.length) out.push(document.createTextNode(text.slice(start)));
  return out;
}

const DAY = new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });
const TIME = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const FULL = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

export function dayKey(seconds) {
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}
export const dayLabel = (seconds) => DAY.format(new Date(seconds * 1000));
export const timeLabel = (seconds) => TIME.format(new Date(seconds * 1000));
export const fullLabel = (seconds) => FULL.format(new Date(seconds * 1000));
