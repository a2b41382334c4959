// Small DOM helpers of the dashboard. Values are set with textContent / setAttribute, never as
// HTML: header values come from hostile mail.

const SVG_NS = 'http://www.w3.org/2000/svg';

export const $ = (sel) => document.querySelector(sel);

/** Creates an element; attrs with null/undefined/false values are skipped, children may be strings. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

/** Creates an SVG element; attributes with null/undefined values are skipped. */
export function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}
