// Building and updating DOM nodes.
//
// Every piece of text that comes from the API reaches the page through `textContent` or an
// attribute set here, never through `innerHTML`, so a customer called `<img onerror=…>` is just
// a name.

/**
 * Creates an element: `h('a', { href: '#/x', class: 'link' }, 'text', child, [more])`.
 *
 * Props: `class`, `dataset` (object), `on` (object of event listeners), the DOM properties in
 * `PROPERTIES` (set as properties, after the children so a select's `value` finds its option),
 * anything else as an attribute (`true` makes an empty attribute; `null`/`false` skips it).
 * Children: nodes, strings (as text), arrays of either; `null`/`false` are skipped.
 */
export function h(tag, props, ...children) {
  return build(document.createElement(tag), props, children);
}

/** Like `h`, for SVG elements. */
export function svg(tag, props, ...children) {
  return build(document.createElementNS('http://www.w3.org/2000/svg', tag), props, children);
}

const PROPERTIES = new Set(['value', 'checked', 'selected', 'indeterminate']);

function build(el, props, children) {
  append(el, children);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'on') {
      for (const [event, listener] of Object.entries(value)) el.addEventListener(event, listener);
    } else if (PROPERTIES.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * Makes `container`'s children match `items`, reusing the element of each key.
 *
 * Reused elements keep their state (an open edit form, a focused select, typed text); `update`
 * refreshes what they show. Keys live in `data-key`.
 */
export function reconcile(container, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of container.children) existing.set(child.dataset.key, child);
  let previous = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let node = existing.get(key);
    if (node) existing.delete(key);
    else {
      node = create(item);
      node.dataset.key = key;
    }
    update(node, item);
    const expected = previous ? previous.nextElementSibling : container.firstElementChild;
    if (node !== expected) container.insertBefore(node, expected);
    previous = node;
  }
  for (const node of existing.values()) node.remove();
}

/**
 * Shows a fresh value from the server in an input unless the user has changed the input.
 *
 * `data-saved` remembers the last server value, so "changed by the user" means "differs from
 * what the server said last time". A user's unsaved text is never overwritten.
 */
export function syncInput(input, value) {
  const text = value == null ? '' : String(value);
  const edited = input.dataset.saved !== undefined && input.value !== input.dataset.saved;
  if (!edited) input.value = text;
  input.dataset.saved = text;
}

/** Whether the user has typed something in `input` that the server has not seen. */
export function isEdited(input) {
  return input.value !== (input.dataset.saved ?? '');
}

/** A label + control pair; `control` gets an id so the label points at it. */
export function field(labelText, control, hint) {
  if (!control.id) control.id = uniqueId('field');
  const hintNode = hint ? h('small', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintNode) control.setAttribute('aria-describedby', hintNode.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, labelText), control, hintNode);
}

/** A `<select>` of `[value, label]` pairs (or plain strings). */
export function select(options, props = {}) {
  return h('select', props, options.map((option) => {
    const [value, label] = Array.isArray(option) ? option : [option, option];
    return h('option', { value }, label);
  }));
}

let counter = 0;

/** An id no other element of the page has. */
export function uniqueId(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * Wraps `fn` so that a burst of calls runs it once, `ms` after the first call of the burst.
 *
 * Used for live refreshes: a sync that changes 500 accounts fires many `changed` events, and
 * the list should be fetched once for them, not 500 times.
 */
export function coalesce(fn, ms) {
  let timer = null;
  const wrapped = () => {
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
  wrapped.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return wrapped;
}

/** Wraps `fn` so that it runs `ms` after the last of a burst of calls (search-as-you-type). */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}
