// DOM helpers the portal and the console share. Text always goes in as text, never as HTML.

import { failureUnder, unavailableUnder } from "./graphql.js";

/** Build an element: h("a", {href: "#/"}, "Home"). `on*` attributes become listeners. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "class") {
      element.className = value;
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Add `children` to the end of `element`, skipping null, undefined and false. The DOM's own
 * `element.append(null)` writes the text "null", so views append through this.
 */
export function appendTo(element, ...children) {
  append(element, children);
  return element;
}

/**
 * Label each body cell with its column's heading and mark the table "stack": on a phone
 * (pages.css) each row then reads as a card, its buttons on screen rather than off to the right.
 */
export function stacked(table) {
  const headings = [...table.querySelectorAll("thead th")].map((heading) => heading.textContent);
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, index) => {
      if (headings[index] && !cell.dataset.label) cell.dataset.label = headings[index];
    });
  }
  table.classList.add("stack");
  return table;
}

/** Replace the content of `element` with `children`. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let uniqueCounter = 0;
export function uniqueId(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** A labelled form control; `name` is the GraphQL input field the server's errors name. */
export function field(label, control, hint) {
  const id = control.id || uniqueId(control.name || "field");
  control.id = id;
  const parts = [h("label", { for: id }, label), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("p", { class: "hint", id: hintId }, hint));
  }
  return h("div", { class: "field", dataset: { field: control.name || "" } }, parts);
}

export function input(name, attributes = {}) {
  return h("input", { name, ...attributes });
}

export function select(name, options, selected, attributes = {}) {
  return h(
    "select",
    { name, ...attributes },
    options.map(([value, label]) => h("option", { value, selected: value === selected }, label)),
  );
}

/** Remove the errors a previous submit left on `form`. */
export function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((node) => node.remove());
  form.querySelectorAll("[aria-invalid]").forEach((control) => {
    control.removeAttribute("aria-invalid");
    const hint = control.id ? `${control.id}-hint` : "";
    const described = (control.getAttribute("aria-describedby") || "")
      .split(" ")
      .filter((id) => id && (id === hint || document.getElementById(id)));
    if (described.length) control.setAttribute("aria-describedby", described.join(" "));
    else control.removeAttribute("aria-describedby");
  });
}

function controlFor(form, path) {
  // ["input", "captions", "0", "text"] -> "captions.0.text", then "captions".
  const names = (path || []).filter((part, index) => !(index === 0 && part === "input"));
  for (let length = names.length; length > 0; length -= 1) {
    const name = names.slice(0, length).join(".");
    const control =
      form.querySelector(`[name="${CSS.escape(name)}"]`) ||
      form.querySelector(`[data-field="${CSS.escape(name)}"] :is(input, select, textarea)`);
    if (control) return control;
  }
  return null;
}

/**
 * Show a payload's `errors` beside the fields their `field` path names; the rest above
 * the submit button. Focuses the first control at fault. Returns true when there were errors.
 */
export function showErrors(form, errors) {
  clearErrors(form);
  if (!errors || errors.length === 0) return false;
  let firstControl = null;
  for (const error of errors) {
    const control = controlFor(form, error.field);
    const message = h("p", { class: control ? "field-error" : "form-error", role: "alert" }, error.message);
    if (control) {
      message.id = uniqueId(`${control.name}-error`);
      control.setAttribute("aria-invalid", "true");
      const described = control.getAttribute("aria-describedby");
      control.setAttribute("aria-describedby", described ? `${described} ${message.id}` : message.id);
      const wrapper = control.closest(".field") || control.parentElement;
      wrapper.append(message);
      firstControl = firstControl || control;
    } else {
      const actions = form.querySelector(".actions");
      (actions ? actions.parentElement : form).insertBefore(message, actions);
    }
  }
  if (firstControl) firstControl.focus();
  return true;
}

/** Top-level errors of a mutation (outage, permission) shown on the form. */
export function showTopLevelFailure(form, result, fieldName) {
  const services = unavailableUnder(result, fieldName);
  if (services.length) {
    showErrors(form, [{ message: `${serviceLabel(services)} is unavailable right now; try again in a moment.` }]);
    return true;
  }
  const failure = failureUnder(result, fieldName);
  if (failure) {
    showErrors(form, [{ message: failure.message }]);
    return true;
  }
  return false;
}

const SERVICE_LABELS = {
  content: "Content (packs and images)",
  referrals: "Links and statistics",
  rewards: "Rewards and points",
};

export function serviceLabel(services) {
  return services.map((name) => SERVICE_LABELS[name] || name).join(" and ");
}

/**
 * Render a section from one query's result: an outage or failure message in the section
 * (the rest of the page keeps working), else `render(data)`.
 */
export function renderSection(section, result, prefix, render) {
  const services = unavailableUnder(result, prefix);
  const value = result.data ? result.data[prefix] : undefined;
  // A section may name its heading (data-title), kept above an outage or failure notice.
  const title = section.dataset.title
    ? h("h2", { id: section.getAttribute("aria-labelledby") }, section.dataset.title)
    : null;
  if (services.length && (value === null || value === undefined)) {
    fill(section, title, h("p", { class: "notice unavailable", role: "status" },
      `${serviceLabel(services)} is unavailable right now, so this part cannot be shown. `,
      "The rest of the page still works; try again in a moment."));
    return;
  }
  const failure = failureUnder(result, prefix);
  if (failure && (value === null || value === undefined)) {
    fill(section, title, h("p", { class: "notice error", role: "alert" }, failure.message));
    return;
  }
  fill(section);
  render(value, services);
}

/** A polite announcement for screen readers and a visible status line. */
export function announce(message) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = message;
  }, 30);
}

/**
 * Run `work()` once at a time from `button`. The button is marked busy rather than
 * `disabled`, which would drop the keyboard focus to the page's top.
 */
export async function busy(button, work) {
  if (button.getAttribute("aria-disabled") === "true") return undefined;
  button.setAttribute("aria-disabled", "true");
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.removeAttribute("aria-disabled");
    button.removeAttribute("aria-busy");
  }
}

export function formValues(form) {
  const values = {};
  for (const [name, value] of new FormData(form).entries()) {
    if (typeof value === "string") values[name] = value;
  }
  return values;
}

export function formatDate(text) {
  if (!text) return "";
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toLocaleString();
}

const CHANNEL_NAMES = {
  X: "X", FACEBOOK: "Facebook", LINKEDIN: "LinkedIn", INSTAGRAM: "Instagram", WHATSAPP: "WhatsApp",
  EMAIL: "Email", SMS: "SMS", QR: "QR code", COPY: "Copied link", OTHER: "Other",
};

/** A share channel as people write it. */
export function channelName(channel) {
  return CHANNEL_NAMES[channel] || titleCase(channel);
}

export function titleCase(enumValue) {
  return String(enumValue || "")
    .toLowerCase()
    .split("_")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");
}

/**
 * After an action redrew `section` (the button pressed is gone), put the focus on `selector`
 * in it, else on the section's heading, so a keyboard or screen-reader user stays where
 * they were instead of being sent back to the top of the page.
 */
export function refocus(section, selector) {
  const target = (selector && section.querySelector(selector)) || section.querySelector("h2, h1");
  if (!target) return;
  if (!target.matches("a[href], button, input, select, textarea, [tabindex]")) target.setAttribute("tabindex", "-1");
  target.focus();
}

/** Move focus to a view's heading after navigation, so keyboard and screen-reader users follow. */
export function focusHeading(container) {
  if (!document.body.dataset.navigated) return;
  const heading = container.querySelector("h1, h2");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
}

// A small, safe Markdown subset for stories: paragraphs, headings, lists, emphasis,
// strong, code and http(s) links. Built as DOM nodes, so no markup in a story runs.
const INLINE = /(\*\*[^*]+\*\*|\*[^*]+\*|_[^_]+_|`[^`]+`|\[[^\]]+\]\([^)\s]+\))/;

function inline(text) {
  const nodes = [];
  for (const part of text.split(INLINE)) {
    if (!part) continue;
    if (part.startsWith("**") && part.endsWith("**") && part.length > 4) {
      nodes.push(h("strong", {}, part.slice(2, -2)));
    } else if ((part.startsWith("*") || part.startsWith("_")) && part.length > 2 && part.endsWith(part[0])) {
      nodes.push(h("em", {}, part.slice(1, -1)));
    } else if (part.startsWith("`") && part.endsWith("`") && part.length > 2) {
      nodes.push(h("code", {}, part.slice(1, -1)));
    } else if (part.startsWith("[")) {
      const match = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(part);
      if (match && /^https?:\/\//i.test(match[2])) {
        nodes.push(h("a", { href: match[2], rel: "noopener noreferrer" }, match[1]));
      } else {
        nodes.push(part);
      }
    } else {
      nodes.push(part);
    }
  }
  return nodes;
}

export function markdown(text) {
  const container = h("div", { class: "story" });
  const blocks = String(text || "").replace(/\r\n/g, "\n").split(/\n{2,}/);
  for (const block of blocks) {
    const lines = block.split("\n").filter((line) => line.trim() !== "");
    if (lines.length === 0) continue;
    const heading = /^(#{1,3})\s+(.*)$/.exec(lines[0]);
    if (heading && lines.length === 1) {
      // Story headings sit below the pack's own h1/h2.
      container.append(h(`h${Math.min(heading[1].length + 2, 6)}`, {}, inline(heading[2])));
    } else if (lines.every((line) => /^\s*[-*]\s+/.test(line))) {
      container.append(h("ul", {}, lines.map((line) => h("li", {}, inline(line.replace(/^\s*[-*]\s+/, ""))))));
    } else {
      const paragraph = h("p");
      lines.forEach((line, index) => {
        if (index) paragraph.append(h("br"));
        paragraph.append(...inline(line));
      });
      container.append(paragraph);
    }
  }
  return container;
}
