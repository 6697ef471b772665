// The marketer console: packs (create, edit, images, publish, archive), each pack's funnel
// and feedback, reward rules, code banks, the manual queues, and partner API keys.
// Only the public GraphQL API, as a marketer's session.

import { codeBanksView, queuesView, rulesView } from "./console_rewards.js";
import { graphql, graphqlUpload, onSessionEnded } from "./graphql.js";
import { loadViewer, logInForm, logOut } from "./session.js";
import {
  announce,
  appendTo,
  busy,
  channelName,
  clearErrors,
  field,
  fill,
  focusHeading,
  formatDate,
  formValues,
  h,
  input,
  refocus,
  renderSection,
  select,
  showErrors,
  showTopLevelFailure,
  stacked,
  titleCase,
} from "./ui.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let viewer = null;

const STAFF_ROLES = new Set(["MARKETER", "ADMIN"]);
const PURPOSES = [["LAUGH", "Laugh"], ["LEARN", "Learn"], ["LOVE", "Love"]];
const TIERS = [["FAN", "Every fan"], ["ADVOCATE", "Advocates and above"], ["INSIDER", "Insiders and above"], ["AMBASSADOR", "Ambassadors only"]];
const CAPTION_CHANNELS = ["X", "FACEBOOK", "LINKEDIN", "INSTAGRAM", "WHATSAPP", "EMAIL"];
const SCOPES = [
  ["CONTENT_READ", "Read published packs"],
  ["CONVERSIONS_WRITE", "Record and reverse conversions"],
  ["STATS_READ", "Read pack and link statistics"],
];
// How an image's renditions stand, as a marketer reads it ("Processing: Processing" said nothing).
const ASSET_STATUS_TEXT = { PROCESSING: "Being made…", READY: "Ready", FAILED: "Failed" };
const ASSET_POLL_MS = 1500;
const ASSET_POLL_LIMIT = 120;

// ---------------------------------------------------------------- navigation and session

function renderNav() {
  const current = (location.hash || "#/packs").split("?")[0];
  const links = viewer
    ? [["#/packs", "Packs"], ["#/packs/new", "New pack"], ["#/rules", "Reward rules"], ["#/code-banks", "Code banks"],
      ["#/queues", "Manual queues"], ["#/leaderboard", "Leaderboard"], ["#/keys", "Partner API keys"]]
    : [];
  fill(nav,
    links.map(([href, label]) => h("li", {}, h("a", { href, "aria-current": current === href ? "page" : null }, label))),
    viewer ? h("li", {}, h("button", { type: "button", class: "link-button", onClick: onLogOut }, `Log out (${viewer.displayName})`)) : null);
}

async function onLogOut(event) {
  await busy(event.currentTarget, logOut);
  viewer = null;
  announce("You are logged out.");
  route();
}

onSessionEnded(() => {
  if (viewer) {
    viewer = null;
    route();
  }
});

function signInView() {
  fill(main, logInForm((user) => {
    viewer = user;
    announce(`Welcome, ${user.displayName}.`);
    route();
  }, { heading: "Log in to the console" }));
  focusHeading(main);
}

function notStaffView() {
  fill(main, h("section", { class: "card" },
    h("h1", {}, "This console is for marketers"),
    h("p", {}, `You are signed in as ${viewer.displayName}, a fan. `, h("a", { href: "/" }, "Go to the fan portal")),
    h("button", { type: "button", onClick: onLogOut }, "Log out")));
  focusHeading(main);
}

/**
 * Go to `hash`. A "Show" pressed with the filters unchanged sets the same hash, which fires
 * no hashchange: draw the view again then, so the button shows the list as it is now.
 */
function goTo(hash) {
  if (location.hash === hash) {
    document.body.dataset.navigated = "yes";
    route();
  } else location.hash = hash;
}

// ---------------------------------------------------------------- packs list

const PACK_LIST = `query ConsolePacks($filter: ContentPackFilter, $after: String) {
  contentPacks(first: 50, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id slug title status purpose minTier publishedAt assets { id status }
      stats { shares humanClicks conversions rewards } } }
  }
}`;

function packsView(params) {
  const status = params.get("status") || "";
  const form = h("form", { class: "filters", "aria-label": "Filter packs" },
    field("Status", select("status", [["", "All"], ["DRAFT", "Drafts"], ["PUBLISHED", "Published"], ["ARCHIVED", "Archived"]], status)),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = formValues(form).status;
    goTo(value ? `#/packs?status=${value}` : "#/packs");
  });
  const section = h("section", { "aria-label": "Packs" }, h("p", { class: "loading" }, "Loading…"));
  fill(main, h("h1", {}, "Packs"), h("p", {}, h("a", { href: "#/packs/new", class: "button primary" }, "New pack")), form, section);
  focusHeading(main);
  loadPackRows(section, status ? { status } : {}, null);
}

const PACK_COLUMNS = ["Title", "Status", "Purpose", "Audience", "Images", "Shares", "Human clicks", "Conversions", "Rewards"];

function packRow(node) {
  return h("tr", {},
    h("td", { class: "row-title" }, h("a", { href: `#/packs/${encodeURIComponent(node.id)}` }, node.title)),
    h("td", {}, h("span", { class: `status status-${node.status.toLowerCase()}` }, titleCase(node.status))),
    h("td", {}, titleCase(node.purpose)),
    h("td", {}, titleCase(node.minTier)),
    h("td", { class: "num" }, `${node.assets.filter((asset) => asset.status === "READY").length}/${node.assets.length}`),
    h("td", { class: "num" }, node.stats ? String(node.stats.shares) : "–"),
    h("td", { class: "num" }, node.stats ? String(node.stats.humanClicks) : "–"),
    h("td", { class: "num" }, node.stats ? String(node.stats.conversions) : "–"),
    // null while rewards is down: the other columns still show
    h("td", { class: "num" }, node.stats && node.stats.rewards !== null ? String(node.stats.rewards) : "–"));
}

/**
 * A page of packs: the table first, then its next pages' rows added to it by "Show more
 * packs" (the first new pack's link then takes the focus from the button, which goes).
 */
async function loadPackRows(section, filter, after) {
  const result = await graphql(PACK_LIST, { filter, after });
  let added = false;
  const target = after ? h("div") : section;
  if (after) appendTo(section, target);
  renderSection(target, result, "contentPacks", (connection) => {
    if (!connection.edges.length) {
      if (!after) appendTo(section, h("p", {}, "No packs yet. ", h("a", { href: "#/packs/new" }, "Create the first one.")));
      return;
    }
    const rows = connection.edges.map(({ node }) => packRow(node));
    added = true;
    if (after) {
      const table = section.querySelector("table.packs");
      appendTo(table.tBodies[0], rows);
      stacked(table);
      target.remove();
      rows[0].querySelector("a").focus();
    } else {
      // On a phone each pack reads as a card (its title first, then the labelled figures);
      // a desktop keeps the table with its column headings for screen readers.
      appendTo(section,
        h("p", { class: "count" }, `${connection.totalCount} pack${connection.totalCount === 1 ? "" : "s"}`),
        h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Packs table" },
          stacked(h("table", { class: "packs" },
            h("caption", { class: "visually-hidden" }, "Packs, newest first"),
            h("thead", {}, h("tr", {}, PACK_COLUMNS.map((label) => h("th", { scope: "col" }, label)))),
            h("tbody", {}, rows)))));
    }
    if (connection.pageInfo.hasNextPage) {
      const more = h("button", { type: "button", class: "more-packs" }, "Show more packs");
      more.addEventListener("click", () => busy(more, async () => {
        // Kept on an outage (the notice says so), so the next page can be asked for again.
        if (await loadPackRows(section, filter, connection.pageInfo.endCursor)) more.parentElement.remove();
      }));
      appendTo(section, h("div", { class: "actions" }, more));
    }
  });
  return added;
}

// ---------------------------------------------------------------- one pack: edit, images, funnel

const ASSET_FIELDS = "id filename contentType status width height bytes altText renditions { name width height url }";
const PACK_FIELDS = `id slug title summary story purpose status minTier tags destinationUrl publishedAt expiresAt
  assets { ${ASSET_FIELDS} }
  shareKit { captions { channel text } hashtags disclosure }`;
const PACK = `query ConsolePack($id: ID!) { contentPack(id: $id) { ${PACK_FIELDS} } }`;
const PACK_FEEDBACK = `query ConsolePackFeedback($id: ID!) { contentPack(id: $id) { id
  feedback(first: 50) { totalCount edges { node { id sentiment text createdAt } } } } }`;
const SENTIMENTS = { POSITIVE: "Liked it", NEGATIVE: "Did not like it", IDEA: "Idea" };
const PACK_STATS = `query ConsolePackStats($id: ID!) { contentPack(id: $id) { id
  stats { shares humanClicks previewFetches conversions rewards pointsIssued
    feedback { positive negative ideas } } } }`;
const CREATE_PACK = `mutation CreatePack($input: CreateContentPackInput!) {
  createContentPack(input: $input) { contentPack { ${PACK_FIELDS} } errors { field message code } }
}`;
const UPDATE_PACK = `mutation UpdatePack($input: UpdateContentPackInput!) {
  updateContentPack(input: $input) { contentPack { ${PACK_FIELDS} } errors { field message code } }
}`;
const PUBLISH = `mutation Publish($id: ID!) { publishContentPack(id: $id) { contentPack { ${PACK_FIELDS} } errors { field message code } } }`;
const ARCHIVE = `mutation Archive($id: ID!) { archiveContentPack(id: $id) { contentPack { ${PACK_FIELDS} } errors { field message code } } }`;
const UPLOAD = `mutation Upload($input: UploadAssetInput!) {
  uploadAsset(input: $input) { asset { ${ASSET_FIELDS} } errors { field message code } }
}`;

function splitList(text) {
  return String(text || "").split(/[,\s]+/).map((item) => item.trim().replace(/^#/, "")).filter(Boolean);
}

function toLocalInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const offset = date.getTimezoneOffset() * 60000;
  return new Date(date.getTime() - offset).toISOString().slice(0, 16);
}

/** A caption as the marketer wrote it: content gives it back with hashtags and disclosure added. */
function writtenCaption(text, kit) {
  const suffix = [kit.hashtags.join(" "), kit.disclosure || ""].filter(Boolean).join(" ");
  return suffix && text.endsWith(` ${suffix}`) ? text.slice(0, -suffix.length - 1) : text;
}

function packForm(pack) {
  const captions = Object.fromEntries((pack ? pack.shareKit.captions : [])
    .map((caption) => [caption.channel, writtenCaption(caption.text, pack.shareKit)]));
  const form = h("form", { class: "card form pack-form", novalidate: true, "aria-labelledby": "pack-form-heading" },
    h("h2", { id: "pack-form-heading" }, pack ? "Details" : "The new pack"),
    field("Title", input("title", { value: pack ? pack.title : "", required: true, maxlength: 200 })),
    field("Summary", h("textarea", { name: "summary", rows: 2, required: true }, pack ? pack.summary : ""), "One or two sentences fans see first."),
    field("Behind-the-scenes story", h("textarea", { name: "story", rows: 8, required: true }, pack ? pack.story : ""),
      "Markdown: **bold**, *italic*, lists with -, links as [text](https://…)."),
    h("div", { class: "grid-2" },
      field("Purpose", select("purpose", PURPOSES, pack ? pack.purpose : "LEARN")),
      field("Who sees it unlocked", select("minTier", TIERS, pack ? pack.minTier : "FAN"))),
    field("Where links lead", input("destinationUrl", { type: "url", value: pack ? pack.destinationUrl : "", required: true, placeholder: "https://" })),
    h("div", { class: "grid-2" },
      field("Tags", input("tags", { value: pack ? pack.tags.join(", ") : "" }), "Separated by commas."),
      field("Hashtags", input("hashtags", { value: pack ? pack.shareKit.hashtags.join(", ") : "" }), "Without #, separated by commas.")),
    field("Stops being shown at (optional)", input("expiresAt", { type: "datetime-local", value: pack ? toLocalInput(pack.expiresAt) : "" })),
    h("fieldset", { class: "field captions-fieldset", dataset: { field: "captions" } },
      h("legend", {}, "Captions per channel (optional)"),
      CAPTION_CHANNELS.map((channel) => field(channelName(channel), h("textarea", { name: `caption-${channel}`, rows: 2 }, captions[channel] || "")))),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, pack ? "Save changes" : "Create draft")),
    h("p", { class: "saved", role: "status" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = formValues(form);
    const data = {
      title: values.title,
      summary: values.summary,
      story: values.story,
      purpose: values.purpose,
      minTier: values.minTier,
      destinationUrl: values.destinationUrl,
      tags: splitList(values.tags),
      hashtags: splitList(values.hashtags),
      captions: CAPTION_CHANNELS.filter((channel) => values[`caption-${channel}`].trim())
        .map((channel) => ({ channel, text: values[`caption-${channel}`].trim() })),
      expiresAt: values.expiresAt ? new Date(values.expiresAt).toISOString() : null,
    };
    if (!pack && !data.expiresAt) delete data.expiresAt;
    await busy(form.querySelector("button[type=submit]"), async () => {
      const mutation = pack ? UPDATE_PACK : CREATE_PACK;
      const name = pack ? "updateContentPack" : "createContentPack";
      const result = await graphql(mutation, { input: pack ? { id: pack.id, ...data } : data });
      if (showTopLevelFailure(form, result, name)) return;
      const payload = result.data[name];
      if (showErrors(form, payload.errors)) return;
      if (!pack) {
        announce("Draft created; add an image, then publish.");
        location.hash = `#/packs/${encodeURIComponent(payload.contentPack.id)}`;
        return;
      }
      form.querySelector(".saved").textContent = "Saved.";
      announce("Changes saved.");
    });
  });
  return form;
}

function newPackView() {
  fill(main, h("p", { class: "breadcrumb" }, h("a", { href: "#/packs" }, "← Packs")), h("h1", {}, "New pack"), packForm(null));
  focusHeading(main);
}

async function packView(id) {
  fill(main, h("p", { class: "loading" }, "Loading the pack…"));
  const result = await graphql(PACK, { id });
  renderSection(main, result, "contentPack", (pack) => {
    if (!pack) {
      appendTo(main, h("h1", {}, "Pack not found"), h("p", {}, h("a", { href: "#/packs" }, "Back to packs")));
      return;
    }
    document.title = `${pack.title} · Fanfare console`;
    const lifecycle = h("section", { class: "card", "aria-labelledby": "lifecycle-heading" });
    const assets = h("section", { class: "card", "aria-labelledby": "assets-heading" });
    const funnel = h("section", { class: "card", "aria-labelledby": "funnel-heading" }, h("p", { class: "loading" }, "Loading the funnel…"));
    const feedback = h("section", { class: "card", "aria-labelledby": "feedback-heading", dataset: { title: "What fans said" } },
      h("p", { class: "loading" }, "Loading feedback…"));
    appendTo(main, 
      h("p", { class: "breadcrumb" }, h("a", { href: "#/packs" }, "← Packs")),
      h("h1", {}, pack.title),
      lifecycle, assets, funnel, feedback, packForm(pack));
    renderLifecycle(lifecycle, pack);
    renderAssets(assets, pack, lifecycle);
    loadFunnel(funnel, pack.id);
    loadFeedback(feedback, pack.id);
  });
  focusHeading(main);
}

function renderLifecycle(section, pack) {
  const form = h("form", { class: "lifecycle", novalidate: true });
  const status = h("p", {}, "Status: ", h("strong", { class: `status status-${pack.status.toLowerCase()}`, id: "pack-status" }, titleCase(pack.status)),
    pack.publishedAt ? ` · published ${formatDate(pack.publishedAt)}` : "",
    pack.status === "PUBLISHED" ? [" · ", h("a", { href: `/#/packs/${encodeURIComponent(pack.slug)}` }, "see it in the portal")] : "");
  const actions = h("div", { class: "actions" });
  if (pack.status === "DRAFT") {
    const ready = pack.assets.some((asset) => asset.status === "READY");
    appendTo(actions, h("button", { type: "submit", class: "primary", value: "publish" }, "Publish"));
    if (!ready) appendTo(actions, h("p", { class: "hint" }, "Publishing needs at least one image whose renditions are ready."));
  } else if (pack.status === "PUBLISHED") {
    appendTo(actions, h("button", { type: "submit", class: "danger", value: "archive" }, "Archive"));
  }
  appendTo(form, actions);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = event.submitter || form.querySelector("button[type=submit]");
    const publish = button.value === "publish";
    await busy(button, async () => {
      const name = publish ? "publishContentPack" : "archiveContentPack";
      const result = await graphql(publish ? PUBLISH : ARCHIVE, { id: pack.id });
      if (showTopLevelFailure(form, result, name)) return;
      const payload = result.data[name];
      if (showErrors(form, payload.errors)) return;
      Object.assign(pack, payload.contentPack);
      renderLifecycle(section, pack);
      announce(publish ? "Published: fans see it now." : "Archived: it is shown no more.");
    });
  });
  fill(section, h("h2", { id: "lifecycle-heading" }, "Publishing"), status, form);
}

function renditionList(asset) {
  if (!asset.renditions.length) return null;
  return h("ul", { class: "renditions" }, asset.renditions.map((item) => h("li", {},
    h("a", { href: item.url, target: "_blank", rel: "noopener" }, `${item.name} ${item.width}×${item.height}`))));
}

function assetRow(asset) {
  const thumb = asset.renditions.find((item) => item.name === "thumbnail");
  return h("li", { class: "asset", dataset: { status: asset.status, assetId: asset.id } },
    thumb ? h("img", { src: thumb.url, alt: asset.altText || "", width: thumb.width, height: thumb.height }) : h("div", { class: "thumb-placeholder", "aria-hidden": "true" }),
    h("div", {},
      h("p", {}, h("strong", {}, asset.filename), ` · ${Math.round(asset.bytes / 1024)} KB`,
        asset.width ? ` · ${asset.width}×${asset.height}` : ""),
      h("p", {}, "Sizes for each network: ", h("span", { class: `asset-status status-${asset.status.toLowerCase()}` }, ASSET_STATUS_TEXT[asset.status] || titleCase(asset.status)),
        asset.status === "FAILED" ? " (the file could not be read as an image; upload another)" : ""),
      renditionList(asset)));
}

function renderAssets(section, pack, lifecycle) {
  const list = h("ul", { class: "assets" }, pack.assets.map(assetRow));
  const progress = h("progress", { max: "100", value: "0", hidden: true, "aria-label": "Upload progress" });
  const progressText = h("span", { class: "progress-text", role: "status" });
  const form = h("form", { class: "form upload", novalidate: true },
    field("Image (JPEG, PNG or WebP)", input("file", { type: "file", accept: "image/jpeg,image/png,image/webp", required: true })),
    field("Text for people who cannot see it", input("altText", { maxlength: 500 })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Upload")),
    h("div", { class: "upload-progress" }, progress, " ", progressText));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const file = form.querySelector("input[type=file]").files[0];
    if (!file) {
      showErrors(form, [{ field: ["input", "file"], message: "Choose an image to upload." }]);
      return;
    }
    await busy(form.querySelector("button[type=submit]"), async () => {
      progress.hidden = false;
      progress.value = 0;
      const result = await graphqlUpload(UPLOAD, { input: { packId: pack.id, file: null, altText: formValues(form).altText || null } },
        "input.file", file, (fraction) => {
          progress.value = Math.round(fraction * 100);
          progressText.textContent = `${Math.round(fraction * 100)}% sent`;
        });
      progress.hidden = true;
      if (result.status === 413) {
        progressText.textContent = "";
        showErrors(form, [{ field: ["input", "file"], message: (result.errors[0] || {}).message || "The file is too large." }]);
        return;
      }
      if (showTopLevelFailure(form, result, "uploadAsset")) {
        progressText.textContent = "";
        return;
      }
      const payload = result.data.uploadAsset;
      if (showErrors(form, payload.errors)) {
        progressText.textContent = "";
        return;
      }
      progressText.textContent = "Uploaded; making renditions…";
      pack.assets.push(payload.asset);
      appendTo(list, assetRow(payload.asset));
      section.querySelector(".no-assets")?.remove();
      form.reset();
      watchAssets(pack, list, lifecycle, progressText);
    });
  });
  fill(section, h("h2", { id: "assets-heading" }, "Images"),
    pack.assets.length ? null : h("p", { class: "no-assets" }, "No images yet."), list, form);
  if (pack.assets.some((asset) => asset.status === "PROCESSING")) watchAssets(pack, list, lifecycle, progressText);
}

let watching = null;

function watchAssets(pack, list, lifecycle, progressText) {
  if (watching === pack.id) return;
  watching = pack.id;
  let rounds = 0;
  const tick = async () => {
    rounds += 1;
    const result = await graphql(`query Assets($id: ID!) { contentPack(id: $id) { id status assets { ${ASSET_FIELDS} } } }`, { id: pack.id });
    const fresh = result.data && result.data.contentPack;
    if (!document.body.contains(list)) {
      watching = null;
      return;
    }
    if (fresh) {
      pack.assets = fresh.assets;
      fill(list, fresh.assets.map(assetRow));
      renderLifecycle(lifecycle, pack);
      if (!fresh.assets.some((asset) => asset.status === "PROCESSING")) {
        watching = null;
        const failed = fresh.assets.filter((asset) => asset.status === "FAILED").length;
        progressText.textContent = failed ? `${failed} image(s) could not be processed.` : "Renditions are ready.";
        announce(progressText.textContent);
        return;
      }
    }
    if (rounds < ASSET_POLL_LIMIT) window.setTimeout(tick, ASSET_POLL_MS);
    else watching = null;
  };
  window.setTimeout(tick, ASSET_POLL_MS);
}

async function loadFunnel(section, id) {
  const result = await graphql(PACK_STATS, { id });
  fill(section);
  const pack = result.data && result.data.contentPack;
  const stats = pack ? pack.stats : null;
  if (!stats) {
    const outage = result.errors.find((error) => error.extensions && error.extensions.code === "SERVICE_UNAVAILABLE");
    appendTo(section, h("h2", { id: "funnel-heading" }, "Funnel"),
      h("p", { class: outage ? "notice unavailable" : "notice", role: "status" },
        outage ? "Statistics are unavailable right now; the rest of the page still works." : "No statistics for this pack."));
    return;
  }
  const steps = [
    ["Shares", stats.shares],
    ["Human clicks", stats.humanClicks],
    ["Conversions", stats.conversions],
  ];
  // Rewards come from the rewards service: null (with an outage error) while it is down,
  // and then the funnel keeps its other steps and says what is missing.
  const rewardsKnown = stats.rewards !== null && stats.rewards !== undefined;
  if (rewardsKnown) steps.push(["Rewards", stats.rewards]);
  appendTo(section, h("h2", { id: "funnel-heading" }, "Funnel"),
    funnelChart(steps, stats.previewFetches),
    rewardsKnown ? null : h("p", { class: "notice unavailable", role: "status" },
      "Rewards given are unavailable right now (rewards service); the other steps are up to date."),
    h("table", { class: "funnel-table" },
      h("caption", {}, "The same numbers as a table"),
      h("tbody", {},
        steps.map(([label, value]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", { class: "num", dataset: { step: label } }, String(value)))),
        rewardsKnown && stats.pointsIssued !== null ? h("tr", {}, h("th", { scope: "row" }, "Points those rewards gave"),
          h("td", { class: "num", dataset: { step: "Points" } }, String(stats.pointsIssued))) : null,
        h("tr", { class: "apart" }, h("th", { scope: "row" }, "Preview fetches and bots (not counted)"),
          h("td", { class: "num", dataset: { step: "Previews" } }, String(stats.previewFetches))))),
    h("h3", {}, "Feedback"),
    h("dl", { class: "stats feedback-tally" },
      h("dt", {}, "Liked it"), h("dd", {}, String(stats.feedback.positive)),
      h("dt", {}, "Did not"), h("dd", {}, String(stats.feedback.negative)),
      h("dt", {}, "Ideas"), h("dd", {}, String(stats.feedback.ideas))));
}

/** The pack's feedback, newest first; content serves it, apart from the funnel's numbers. */
async function loadFeedback(section, id) {
  const result = await graphql(PACK_FEEDBACK, { id });
  renderSection(section, result, "contentPack", (pack) => {
    const connection = pack ? pack.feedback : null;
    appendTo(section, h("h2", { id: "feedback-heading" }, "What fans said"));
    if (!connection || !connection.edges.length) {
      appendTo(section, h("p", {}, "No feedback yet."));
      return;
    }
    appendTo(section, 
      h("p", { class: "hint" }, connection.totalCount > connection.edges.length
        ? `The newest ${connection.edges.length} of ${connection.totalCount}.` : "Newest first."),
      h("ul", { class: "feedback-list" }, connection.edges.map(({ node }) => h("li", { dataset: { sentiment: node.sentiment } },
        h("p", {}, h("strong", {}, SENTIMENTS[node.sentiment] || titleCase(node.sentiment)), ` · ${formatDate(node.createdAt)}`),
        node.text ? h("p", {}, node.text) : null))));
  });
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Horizontal bars, each step as wide as its share of the first; previews apart in grey. */
function funnelChart(steps, previews) {
  // Drawn about as wide as it is shown, so its 14px labels stay readable on a phone
  // (a 560-wide drawing shrunk to a phone's 330 pixels made them 8px).
  const narrow = window.matchMedia("(max-width: 640px)").matches;
  const width = narrow ? 330 : 560;
  const labelWidth = narrow ? 130 : 150;
  const barHeight = 28;
  const gap = 10;
  const rows = [...steps, ["Previews and bots", previews]];
  const max = Math.max(1, ...rows.map(([, value]) => value));
  const height = rows.length * (barHeight + gap) + gap * 2;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "funnel-chart", "aria-labelledby": "funnel-title" });
  appendTo(chart, svg("title", { id: "funnel-title" },
    `Funnel: ${steps.map(([label, value]) => `${label} ${value}`).join(", ")}; preview fetches and bots ${previews}, not counted.`));
  rows.forEach(([label, value], index) => {
    const apart = index === rows.length - 1;
    const y = gap + index * (barHeight + gap) + (apart ? gap : 0);
    const barWidth = Math.max(2, ((width - labelWidth - 60) * value) / max);
    appendTo(chart, 
      svg("text", { x: 0, y: y + barHeight * 0.68, class: "funnel-label" }, label),
      svg("rect", { x: labelWidth, y, width: barWidth, height: barHeight, rx: 4, class: apart ? "bar-apart" : "bar" }),
      svg("text", { x: labelWidth + barWidth + 6, y: y + barHeight * 0.68, class: "funnel-value" }, String(value)));
  });
  return h("figure", { class: "funnel" }, chart,
    h("figcaption", { class: "hint" }, "Shares, then clicks by people, then conversions, then rewards fans kept. Link previews and bots are counted apart and never rewarded."));
}

// ---------------------------------------------------------------- leaderboard

const LEADERBOARD = `query Leaderboard($period: LeaderboardPeriod) {
  leaderboard(first: 50, period: $period) { rank displayName points tier }
}`;
const PERIODS = [["WEEK", "This week"], ["MONTH", "This month"], ["ALL_TIME", "All time"]];

/** The fans who earned most, as fans see it in the portal, without leaving the console. */
function leaderboardView(params) {
  const period = PERIODS.some(([value]) => value === params.get("period")) ? params.get("period") : "WEEK";
  const form = h("form", { class: "filters", "aria-label": "Leaderboard period" },
    field("Period", select("period", PERIODS, period)),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    goTo(`#/leaderboard?period=${formValues(form).period}`);
  });
  const section = h("section", { "aria-label": "Top fans" }, h("p", { class: "loading" }, "Loading…"));
  fill(main, h("h1", {}, "Leaderboard"),
    h("p", {}, "The top 50 fans by points earned in the period; fans see the top 20 in the portal."),
    form, section);
  focusHeading(main);
  graphql(LEADERBOARD, { period }).then((result) => {
    renderSection(section, result, "leaderboard", (entries) => {
      if (!entries.length) {
        appendTo(section, h("p", {}, "No fan has earned points in this period yet."));
        return;
      }
      appendTo(section, h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Leaderboard table" },
        stacked(h("table", { class: "leaderboard" },
          h("caption", { class: "visually-hidden" }, "Top fans by points"),
          h("thead", {}, h("tr", {}, ["Rank", "Fan", "Points", "Tier"].map((label) => h("th", { scope: "col" }, label)))),
          h("tbody", {}, entries.map((entry) => h("tr", {},
            h("td", { class: "num" }, String(entry.rank)), h("td", {}, entry.displayName),
            h("td", { class: "num" }, String(entry.points)), h("td", {}, titleCase(entry.tier)))))))));
    });
  });
}

// ---------------------------------------------------------------- partner API keys

const API_KEYS = `query ApiKeys { apiKeys { id name scopes prefix createdAt lastUsedAt revokedAt } }`;
const CREATE_KEY = `mutation CreateKey($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { apiKey { id name scopes prefix createdAt } secret errors { field message code } }
}`;
const REVOKE_KEY = `mutation RevokeKey($id: ID!) { revokeApiKey(id: $id) { apiKey { id revokedAt } errors { field message code } } }`;

function keysView() {
  const list = h("section", { class: "card", "aria-labelledby": "keys-heading", dataset: { title: "Keys" } }, h("p", { class: "loading" }, "Loading…"));
  const secretBox = h("div", { class: "secret-box", role: "status" });
  const form = h("form", { class: "card form", novalidate: true, "aria-labelledby": "new-key-heading" },
    h("h2", { id: "new-key-heading" }, "New key"),
    field("What the key is for", input("name", { required: true, maxlength: 100, placeholder: "e.g. shop.example checkout" })),
    h("fieldset", { class: "field", dataset: { field: "scopes" } }, h("legend", {}, "What it may do"),
      SCOPES.map(([value, label]) => h("label", { class: "choice" }, h("input", { type: "checkbox", name: "scopes", value }), ` ${label}`))),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create key")),
    secretBox);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const scopes = [...form.querySelectorAll("input[name=scopes]:checked")].map((box) => box.value);
    await busy(form.querySelector("button[type=submit]"), async () => {
      const result = await graphql(CREATE_KEY, { input: { name: formValues(form).name, scopes } });
      if (showTopLevelFailure(form, result, "createApiKey")) return;
      const payload = result.data.createApiKey;
      if (showErrors(form, payload.errors)) return;
      form.reset();
      fill(secretBox,
        h("p", {}, h("strong", {}, `The secret of “${payload.apiKey.name}”, shown this once:`)),
        h("p", {}, h("code", { class: "api-secret" }, payload.secret)),
        h("p", { class: "hint" }, "Copy it now into the partner's configuration; only a hash is kept, so it cannot be shown again. Send it in the X-API-Key header."));
      announce("Key created; copy its secret now.");
      loadKeys(list);
    });
  });
  fill(main, h("h1", {}, "Partner API keys"),
    h("p", {}, "Partner sites use a key to record the conversions fans bring and to read statistics."),
    form, list);
  focusHeading(main);
  loadKeys(list);
}

async function loadKeys(section) {
  const result = await graphql(API_KEYS);
  renderSection(section, result, "apiKeys", (keys) => {
    appendTo(section, h("h2", { id: "keys-heading" }, "Keys"));
    if (!keys.length) {
      appendTo(section, h("p", {}, "No keys yet."));
      return;
    }
    appendTo(section, h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Keys table" },
      h("table", {},
        h("caption", { class: "visually-hidden" }, "Partner API keys, newest first"),
        h("thead", {}, h("tr", {}, ["Name", "Prefix", "Scopes", "Created", "Last used", "State"].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, keys.map((key) => h("tr", { dataset: { keyId: key.id } },
          h("td", {}, key.name), h("td", {}, h("code", {}, key.prefix)),
          h("td", {}, key.scopes.map(titleCase).join(", ")),
          h("td", {}, formatDate(key.createdAt)), h("td", {}, key.lastUsedAt ? formatDate(key.lastUsedAt) : "never"),
          h("td", {}, key.revokedAt ? `Revoked ${formatDate(key.revokedAt)}` : revokeButton(key, section))))))));
    stacked(section.querySelector("table"));
  });
}

function revokeButton(key, section) {
  const form = h("form", { class: "inline", "aria-label": `Revoke ${key.name}` },
    h("button", { type: "submit", class: "danger" }, h("span", {}, "Revoke"), h("span", { class: "visually-hidden" }, ` ${key.name}`)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!window.confirm(`Revoke “${key.name}”? Requests with it are refused from now on.`)) return;
    await busy(form.querySelector("button"), async () => {
      const result = await graphql(REVOKE_KEY, { id: key.id });
      if (showTopLevelFailure(form, result, "revokeApiKey")) return;
      if (showErrors(form, result.data.revokeApiKey.errors)) return;
      announce(`${key.name} is revoked.`);
      await loadKeys(section);
      refocus(section, `tr[data-key-id="${CSS.escape(key.id)}"] td:last-child`);
    });
  });
  return form;
}

// ---------------------------------------------------------------- router

function route() {
  renderNav();
  document.title = "Fanfare console";
  if (!viewer) return signInView();
  if (!STAFF_ROLES.has(viewer.role)) return notStaffView();
  const hash = location.hash.replace(/^#/, "") || "/packs";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  // Each view names itself in the tab and the history.
  const view = [...nav.querySelectorAll("a")].find((link) => link.getAttribute("href") === `#${path}`);
  document.title = view ? `${view.textContent} · Fanfare console` : "Fanfare console";
  if (path === "/packs/new") return newPackView();
  if (path.startsWith("/packs/")) return packView(decodeURIComponent(path.slice("/packs/".length)));
  if (path === "/keys") return keysView();
  if (path === "/rules") return rulesView(main);
  if (path === "/code-banks") return codeBanksView(main);
  if (path === "/queues") return queuesView(main);
  if (path === "/leaderboard") return leaderboardView(params);
  return packsView(params);
}

window.addEventListener("hashchange", () => {
  // From now on a new view takes the focus to its heading; the first view leaves it at the top.
  document.body.dataset.navigated = "yes";
  route();
});
viewer = await loadViewer();
route();
