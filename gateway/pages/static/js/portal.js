// The fan portal: packs to share, my links and rewards, the leaderboard, my account.
// Views are chosen by the URL fragment (#/packs/<slug>, #/me ...); each section runs its
// own query, so a service that is down costs only the sections that need it.

import { graphql, onSessionEnded } from "./graphql.js";
import { loadViewer, logInForm, logOut, signUpForm } from "./session.js";
import {
  announce,
  appendTo,
  busy,
  channelName,
  field,
  fill,
  focusHeading,
  formatDate,
  formValues,
  h,
  input,
  markdown,
  renderSection,
  select,
  showErrors,
  showTopLevelFailure,
  titleCase,
  uniqueId,
} from "./ui.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let viewer = null;

// [tier, lifetime points] as rewards is configured (its TIER_THRESHOLDS), lowest first;
// read once a fan is signed in, empty while unknown (rewards down).
let tierThresholds = [];
const TIER_THRESHOLDS_QUERY = `query TierThresholds { tierThresholds { tier lifetimePoints } }`;
const PURPOSES = [
  ["", "Any purpose"],
  ["LAUGH", "Laugh"],
  ["LEARN", "Learn"],
  ["LOVE", "Love"],
];
const THANK_YOU_CHANNELS = [
  ["PRIVATE_EMAIL", "A personal email"],
  ["PUBLIC_SHOUTOUT", "A public shout-out on the thank-you wall"],
  ["HANDWRITTEN_NOTE", "A handwritten note by post"],
  ["NONE", "No thank-you messages, please"],
];

async function loadTierThresholds() {
  const result = await graphql(TIER_THRESHOLDS_QUERY);
  const tiers = result.data && result.data.tierThresholds;
  tierThresholds = tiers ? tiers.map((entry) => [entry.tier, entry.lifetimePoints]) : [];
}

function tierPoints(tier) {
  const entry = tierThresholds.find(([name]) => name === tier);
  return entry ? entry[1] : null;
}

function unlockText(minTier) {
  const points = tierPoints(minTier);
  const how = points === null ? "Share packs to earn points and unlock it." : `Earn ${points} lifetime points by sharing to unlock it.`;
  return `Locked: for ${titleCase(minTier)} fans and above. ${how}`;
}

// ---------------------------------------------------------------- navigation

function renderNav() {
  const links = viewer
    ? [["#/", "Packs"], ["#/leaderboard", "Leaderboard"], ["#/me", "My links and points"],
      ["#/rewards", "Rewards"], ["#/account", "Account"]]
    : [["#/login", "Log in"], ["#/signup", "Sign up"]];
  // Marketers who open the portal (to see what fans see) have a way back to their console.
  if (viewer && ["MARKETER", "ADMIN"].includes(viewer.role)) links.push(["/console", "Console"]);
  const current = location.hash || "#/";
  fill(
    nav,
    links.map(([href, label]) =>
      h("li", {}, h("a", { href, "aria-current": current === href ? "page" : null }, label)),
    ),
    viewer
      ? h("li", {}, h("button", { type: "button", class: "link-button", onClick: onLogOut }, `Log out (${viewer.displayName})`))
      : null,
  );
}

async function onLogOut(event) {
  await busy(event.currentTarget, logOut);
  viewer = null;
  forgetReturn();
  say("You are logged out.");
  goTo("#/");
}

// A message the next view shows once, visibly and to screen readers (e.g. after log-out).
let flash = null;
function say(message) {
  flash = message;
  announce(message);
}
function takeFlash() {
  const message = flash;
  flash = null;
  // Spoken by announce() already; shown here for the eyes.
  return message ? h("p", { class: "notice flash" }, message) : null;
}

// Where a visitor was going when the portal asked them to log in (a pack someone sent them,
// the leaderboard): they land there once signed in, not on the packs list.
const RETURN_KEY = "fanfare:return-to";
function rememberReturn(hash) {
  try {
    sessionStorage.setItem(RETURN_KEY, hash);
  } catch {
    // Storage refused (private mode): they land on the packs list, as before.
  }
}
function forgetReturn() {
  try {
    sessionStorage.removeItem(RETURN_KEY);
  } catch {
    // Nothing was stored.
  }
}
function takeReturn() {
  let hash = null;
  try {
    hash = sessionStorage.getItem(RETURN_KEY);
  } catch {
    hash = null;
  }
  forgetReturn();
  return hash && /^#\/(?!login|signup)/.test(hash) ? hash : "#/";
}

function goTo(hash) {
  // Setting the same hash fires no hashchange; route at once then (as a navigation, so the
  // view's heading takes the focus from the button that was pressed and is now gone).
  if (location.hash === hash || (hash === "#/" && !location.hash)) {
    document.body.dataset.navigated = "yes";
    route();
  } else location.hash = hash;
}

async function signedIn(user) {
  viewer = user;
  announce(`Welcome, ${user.displayName}.`);
  await loadTierThresholds();
  goTo(takeReturn());
}

onSessionEnded(() => {
  if (viewer) {
    viewer = null;
    renderNav();
  }
});

// Packs and the leaderboard are for signed-in fans (the API refuses anonymous callers).
function welcomeView(path = "/") {
  const asked = path.startsWith("/packs/") ? "this pack" : (path === "/" ? null : "this page");
  fill(
    main,
    takeFlash(),
    asked ? h("p", { class: "notice", role: "status" }, `Log in or sign up to see ${asked}; you will come back to it.`) : null,
    h("section", { class: "card welcome", "aria-labelledby": "welcome-heading" },
      h("h1", { id: "welcome-heading" }, "Share the stories you love"),
      h("p", { class: "lede" }, "Fanfare gives fans behind-the-scenes packs worth sharing: things that make people laugh, learn or love."),
      h("ul", {},
        h("li", {}, "Share a pack with your own link, in two clicks."),
        h("li", {}, "See how many people it reaches, and what they did."),
        h("li", {}, "Get thanked the way you like: points, badges, codes, a note.")),
      h("p", { class: "actions" }, h("a", { href: "#/signup", class: "button primary" }, "Sign up"), " ",
        h("a", { href: "#/login", class: "button" }, "Log in"))),
  );
  focusHeading(main);
}

function requireSignIn(what) {
  fill(
    main,
    h("section", { class: "card" },
      h("h1", {}, what),
      h("p", {}, "Log in or sign up to see this."),
      h("p", {}, h("a", { href: "#/login", class: "button primary" }, "Log in"), " ",
        h("a", { href: "#/signup", class: "button" }, "Sign up"))),
  );
}

// ---------------------------------------------------------------- packs

const PACK_CARD_FIELDS = `id slug title summary purpose minTier locked tags publishedAt
  assets { altText status renditions { name width height url } }`;
const PACKS = `query Packs($first: Int, $after: String, $filter: ContentPackFilter) {
  contentPacks(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { ${PACK_CARD_FIELDS} } }
  }
}`;

function rendition(asset, ...names) {
  for (const name of names) {
    const found = (asset.renditions || []).find((item) => item.name === name);
    if (found) return found;
  }
  return null;
}

function coverOf(pack) {
  for (const asset of pack.assets || []) {
    const image = rendition(asset, "social_card", "thumbnail", "original");
    if (image) return { image, alt: asset.altText || "" };
  }
  return null;
}

function packCard(pack) {
  const cover = coverOf(pack);
  return h(
    "li",
    { class: `pack-card${pack.locked ? " locked" : ""}` },
    h("article", { "aria-labelledby": `pack-${pack.id}` },
      cover
        ? h("img", { src: cover.image.url, alt: cover.alt, width: cover.image.width, height: cover.image.height, loading: "lazy" })
        : null,
      h("div", { class: "pack-card-body" },
        h("h2", { id: `pack-${pack.id}` }, h("a", { href: `#/packs/${encodeURIComponent(pack.slug)}` }, pack.title)),
        h("p", { class: "meta" }, h("span", { class: `purpose purpose-${pack.purpose.toLowerCase()}` }, titleCase(pack.purpose)),
          pack.tags.length ? ` · ${pack.tags.map((tag) => `#${tag}`).join(" ")}` : ""),
        h("p", {}, pack.summary),
        pack.locked ? h("p", { class: "lock" }, unlockText(pack.minTier)) : null)),
  );
}

function packsView(params) {
  const purpose = params.get("purpose") || "";
  const tag = params.get("tag") || "";
  const filters = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter packs" },
    field("Purpose", select("purpose", PURPOSES, purpose)),
    field("Tag", input("tag", { value: tag, placeholder: "e.g. workshop", autocomplete: "off" })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show packs")),
  );
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formValues(filters);
    const query = new URLSearchParams();
    if (values.purpose) query.set("purpose", values.purpose);
    if (values.tag.trim()) query.set("tag", values.tag.trim().replace(/^#/, ""));
    goTo(`#/?${query}`);
  });
  const list = h("section", { "aria-label": "Packs", "aria-live": "polite" });
  fill(main,
    h("h1", {}, "Stories worth sharing"),
    h("p", { class: "lede" }, "Newest first. Pick one, share it with your own link, and see who it reaches."),
    filters,
    list);
  focusHeading(main);
  const filter = {};
  if (purpose) filter.purpose = purpose;
  if (tag) filter.tag = tag;
  loadPacks(list, filter, null);
}

async function loadPacks(section, filter, after) {
  const result = await graphql(PACKS, { first: 12, after, filter });
  const target = after ? h("div") : section;
  if (after) appendTo(section, target);
  renderSection(target, result, "contentPacks", (connection) => {
    if (connection.totalCount === 0) {
      appendTo(target, h("p", { class: "notice" }, "No packs match; try another purpose or tag."));
      return;
    }
    if (!after) appendTo(target, h("p", { class: "count" }, `${connection.totalCount} pack${connection.totalCount === 1 ? "" : "s"}`));
    const grid = appendTo(h("ul", { class: "pack-grid" }), connection.edges.map((edge) => packCard(edge.node)));
    appendTo(target, grid);
    // The button pressed is gone: the first pack it brought takes the focus, not the page's top.
    if (after) grid.querySelector("a").focus();
    if (connection.pageInfo.hasNextPage) {
      const more = h("button", { type: "button" }, "Show more packs");
      more.addEventListener("click", () => busy(more, async () => {
        // Kept on an outage (the notice says so), so the next page can be asked for again.
        if (await loadPacks(section, filter, connection.pageInfo.endCursor)) more.parentElement.remove();
      }));
      appendTo(target, h("div", { class: "actions" }, more));
    }
  });
  return Boolean(result.data && result.data.contentPacks);
}

// ---------------------------------------------------------------- one pack

const PACK = `query Pack($slug: String!) {
  contentPack(slug: $slug) {
    ${PACK_CARD_FIELDS} story destinationUrl
    assets { id filename altText status width height renditions { name width height url } }
    shareKit { captions { channel text } hashtags disclosure }
  }
}`;
const CREATE_LINK = `mutation CreateLink($input: CreateReferralLinkInput!) {
  createReferralLink(input: $input) { referralLink { id code shortUrl qrCodeUrl channel } errors { field message code } }
}`;
const RECORD_SHARE = `mutation RecordShare($input: RecordShareInput!) {
  recordShare(input: $input) { ok errors { field message code } }
}`;
const LEAVE_FEEDBACK = `mutation LeaveFeedback($input: LeaveFeedbackInput!) {
  leaveFeedback(input: $input) { ok errors { field message code } }
}`;

// Share intents of each network; {url} and {text} are filled in, URL-encoded.
const SHARE_TARGETS = [
  ["X", "X", (url, text) => `https://x.com/intent/post?text=${encodeURIComponent(text)}&url=${encodeURIComponent(url)}`],
  ["FACEBOOK", "Facebook", (url) => `https://www.facebook.com/sharer/sharer.php?u=${encodeURIComponent(url)}`],
  ["LINKEDIN", "LinkedIn", (url) => `https://www.linkedin.com/sharing/share-offsite/?url=${encodeURIComponent(url)}`],
  ["WHATSAPP", "WhatsApp", (url, text) => `https://wa.me/?text=${encodeURIComponent(`${text} ${url}`)}`],
  ["EMAIL", "Email", (url, text, title) => `mailto:?subject=${encodeURIComponent(title)}&body=${encodeURIComponent(`${text}\n\n${url}`)}`],
];

// Which rendition suits which network.
const DOWNLOADS = [
  ["social_card", "For X, Facebook and LinkedIn posts"],
  ["square", "For Instagram and square feeds"],
  ["story", "For stories (Instagram, WhatsApp, Facebook)"],
  ["original", "The original"],
];

/** The text to share on `channel`: its caption as composed by content (with hashtags and
 * disclosure), or the summary composed the same way when the pack has no caption for it. */
function captionFor(pack, channel) {
  const kit = pack.shareKit;
  const caption = kit.captions.find((item) => item.channel === channel) || kit.captions[0];
  if (caption) return caption.text;
  return [pack.summary, kit.hashtags.join(" "), kit.disclosure || ""].filter(Boolean).join(" ");
}

async function packView(slug) {
  fill(main, h("p", { class: "loading" }, "Loading the pack…"));
  const result = await graphql(PACK, { slug });
  renderSection(main, result, "contentPack", (pack) => {
    if (!pack) {
      appendTo(main, h("h1", {}, "Pack not found"), h("p", {}, "It may have been archived. ", h("a", { href: "#/" }, "See all packs")));
      return;
    }
    document.title = `${pack.title} · Fanfare`;
    const sharing = packSharing(pack);
    appendTo(main, 
      h("p", { class: "breadcrumb" }, h("a", { href: "#/" }, "← All packs")),
      h("article", { class: "pack", "aria-labelledby": "pack-title" },
        h("h1", { id: "pack-title" }, pack.title),
        h("p", { class: "meta" }, h("span", { class: `purpose purpose-${pack.purpose.toLowerCase()}` }, titleCase(pack.purpose)),
          pack.tags.length ? ` · ${pack.tags.map((tag) => `#${tag}`).join(" ")}` : ""),
        h("p", { class: "lede" }, pack.summary),
        pack.locked ? h("p", { class: "notice lock" }, unlockText(pack.minTier), " ", h("a", { href: "#/me" }, "See my points")) : null,
        gallery(pack),
        // A locked pack comes without its story: no empty heading, the lock says why.
        pack.story ? h("section", { "aria-labelledby": "story-heading" }, h("h2", { id: "story-heading" }, "Behind the scenes"), markdown(pack.story)) : null,
        pack.locked ? null : sharePanel(pack, sharing),
        pack.locked ? null : captionsPanel(pack, sharing),
        pack.locked ? null : downloadsPanel(pack),
        viewer && !pack.locked ? feedbackForm(pack) : null),
    );
  });
  focusHeading(main);
}

function gallery(pack) {
  const ready = (pack.assets || []).filter((asset) => asset.renditions.length);
  if (!ready.length) return null;
  return h("div", { class: "gallery" }, ready.map((asset) => {
    const image = rendition(asset, "social_card", "original", "square");
    return h("figure", {},
      h("img", { src: image.url, alt: asset.altText || "", width: image.width, height: image.height }),
      asset.altText ? h("figcaption", {}, asset.altText) : null);
  }));
}

/** The fan's links for one pack, one per channel (made once, then reused), and shares recorded. */
function packSharing(pack) {
  const links = {};

  async function linkFor(channel) {
    if (links[channel]) return links[channel];
    const result = await graphql(CREATE_LINK, { input: { packId: pack.id, channel } });
    const payload = result.data && result.data.createReferralLink;
    if (!payload) {
      const failure = result.errors[0];
      throw new Error(failure && failure.extensions && failure.extensions.code === "SERVICE_UNAVAILABLE"
        ? "Links are unavailable right now; try again in a moment."
        : (failure ? failure.message : "Your link could not be made."));
    }
    if (payload.errors.length) throw new Error(payload.errors[0].message);
    links[channel] = payload.referralLink;
    return payload.referralLink;
  }

  async function recordShare(channel) {
    const result = await graphql(RECORD_SHARE, { input: { packId: pack.id, channel } });
    const payload = result.data && result.data.recordShare;
    return Boolean(payload && payload.ok);
  }

  return { linkFor, recordShare };
}

function sharePanel(pack, { linkFor, recordShare }) {
  const section = h("section", { class: "card share", "aria-labelledby": "share-heading" }, h("h2", { id: "share-heading" }, "Share it"));
  if (!viewer) {
    appendTo(section, h("p", {}, h("a", { href: "#/login" }, "Log in"), " or ", h("a", { href: "#/signup" }, "sign up"),
      " to get your own link, so your shares are counted and thanked."));
    return section;
  }
  const status = h("p", { class: "share-status", role: "status" });
  const linkOutput = h("input", { id: "my-link", class: "my-link", readonly: true, value: "", "aria-label": "My link", placeholder: "Your link appears here" });
  const qr = h("div", { class: "qr" });

  function report(message) {
    status.textContent = message;
    announce(message);
  }

  async function copyLink(event) {
    await busy(event.currentTarget, async () => {
      try {
        const link = await linkFor("COPY");
        linkOutput.value = link.shortUrl;
        let copied = false;
        try {
          await navigator.clipboard.writeText(link.shortUrl);
          copied = true;
        } catch {
          copied = false;
        }
        if (!copied) linkOutput.select();
        await recordShare("COPY");
        report(copied ? "Your link is copied; paste it anywhere." : "Your link is selected; press Ctrl+C (or ⌘C) to copy it.");
      } catch (error) {
        report(error.message);
      }
    });
  }

  function shareTo(channel, label, makeUrl) {
    return async (event) => {
      if (event.currentTarget.getAttribute("aria-disabled") === "true") return;
      // Open the window while the click still counts as the user's, then point it at the
      // network once the link exists (browsers block windows opened later).
      const popup = channel === "EMAIL" ? null : window.open("", "_blank");
      await busy(event.currentTarget, async () => {
        try {
          const link = await linkFor(channel);
          linkOutput.value = link.shortUrl;
          const target = makeUrl(link.shortUrl, captionFor(pack, channel), pack.title);
          if (popup) {
            popup.opener = null;
            popup.location.href = target;
          } else {
            window.location.href = target;
          }
          await recordShare(channel);
          report(`Shared to ${label} with your link.`);
        } catch (error) {
          if (popup) popup.close();
          report(error.message);
        }
      });
    };
  }

  async function nativeShare(event) {
    await busy(event.currentTarget, async () => {
      try {
        const link = await linkFor("OTHER");
        await navigator.share({ title: pack.title, text: captionFor(pack, "OTHER"), url: link.shortUrl });
        await recordShare("OTHER");
        report("Shared with your link.");
      } catch (error) {
        if (error && error.name === "AbortError") return;
        report(error.message || "Sharing did not work; copy your link instead.");
      }
    });
  }

  async function showQr(event) {
    await busy(event.currentTarget, async () => {
      try {
        const link = await linkFor("QR");
        fill(qr,
          h("img", { src: link.qrCodeUrl, alt: `QR code of your link ${link.shortUrl}`, width: 200, height: 200 }),
          h("p", {}, h("a", { href: link.qrCodeUrl, download: `fanfare-${pack.slug}-qr.png` }, "Download the QR code")));
        await recordShare("QR");
        report("Your QR code is ready; anyone who scans it uses your link.");
      } catch (error) {
        report(error.message);
      }
    });
  }

  const buttons = h("div", { class: "share-buttons" },
    h("button", { type: "button", class: "primary", onClick: copyLink }, "Copy my link"),
    SHARE_TARGETS.map(([channel, label, makeUrl]) =>
      h("button", { type: "button", onClick: shareTo(channel, label, makeUrl), dataset: { channel } }, `Share to ${label}`)),
    typeof navigator.share === "function" ? h("button", { type: "button", onClick: nativeShare }, "Share…") : null,
    h("button", { type: "button", onClick: showQr }, "My QR code"));
  appendTo(section, buttons, h("div", { class: "field" }, h("label", { for: "my-link" }, "My link"), linkOutput), status, qr);
  return section;
}

function captionsPanel(pack, sharing) {
  const kit = pack.shareKit;
  if (!kit.captions.length && !kit.hashtags.length) return null;
  const channels = kit.captions.length ? kit.captions.map((caption) => caption.channel) : ["OTHER"];
  return h("section", { class: "card", "aria-labelledby": "captions-heading" },
    h("h2", { id: "captions-heading" }, "Captions"),
    h("p", { class: "hint" }, "Ready to paste: “Copy with my link” copies the caption and your own link for that network. The disclosure says your share is rewarded."),
    h("dl", { class: "captions" }, channels.map((channel) => [
      h("dt", {}, channel === "OTHER" ? "Any network" : channelName(channel)),
      h("dd", {}, h("p", { class: "caption-text" }, captionFor(pack, channel)), viewer ? copyCaptionButton(pack, channel, sharing) : null),
    ])));
}

/** "Copy with my link": the caption and the fan's link for its network, in one paste. */
function copyCaptionButton(pack, channel, { linkFor, recordShare }) {
  const status = h("p", { class: "caption-status", role: "status" });
  const fallback = h("div", { class: "caption-fallback" });
  const button = h("button", { type: "button", class: "copy-caption" }, "Copy with my link",
    h("span", { class: "visually-hidden" }, ` (${channel === "OTHER" ? "any network" : channelName(channel)})`));
  button.addEventListener("click", () => busy(button, async () => {
    fill(fallback);
    status.textContent = "";
    try {
      const link = await linkFor(channel);
      const text = `${captionFor(pack, channel)} ${link.shortUrl}`;
      let copied = false;
      try {
        await navigator.clipboard.writeText(text);
        copied = true;
      } catch {
        copied = false;
      }
      if (!copied) {
        // The browser refused the clipboard: the text is shown selected for Ctrl+C.
        const area = h("textarea", { readonly: true, rows: 3, "aria-label": "Caption with my link" }, text);
        fill(fallback, area);
        area.select();
      }
      await recordShare(channel);
      status.textContent = copied ? "Copied with your link; paste it in your post." : "Selected with your link; press Ctrl+C (or ⌘C) to copy it.";
    } catch (error) {
      status.textContent = error.message;
    }
    announce(status.textContent);
  }));
  return [h("div", { class: "actions" }, button), fallback, status];
}

function downloadsPanel(pack) {
  const items = [];
  for (const asset of pack.assets || []) {
    for (const [name, purpose] of DOWNLOADS) {
      const image = rendition(asset, name);
      if (!image) continue;
      items.push(h("li", {}, h("a", { href: image.url, download: `${pack.slug}-${name}.jpg`, target: "_blank", rel: "noopener" },
        `${purpose}: ${image.width}×${image.height}`), asset.altText ? ` (${asset.altText})` : ""));
    }
  }
  if (!items.length) return null;
  return h("section", { class: "card", "aria-labelledby": "downloads-heading" },
    h("h2", { id: "downloads-heading" }, "Download an image"), h("ul", { class: "downloads" }, items));
}

function feedbackForm(pack) {
  const sentiment = h("fieldset", { class: "field", dataset: { field: "sentiment" } },
    h("legend", {}, "What do you think of it?"),
    [["POSITIVE", "I like it"], ["NEGATIVE", "Not for me"], ["IDEA", "I have an idea"]].map(([value, label], index) =>
      h("label", { class: "choice" }, h("input", { type: "radio", name: "sentiment", value, checked: index === 0 }), ` ${label}`)));
  const form = h("form", { class: "card form", novalidate: true, "aria-labelledby": "feedback-heading" },
    h("h2", { id: "feedback-heading" }, "Tell us"),
    sentiment,
    field("Anything to add? (optional)", h("textarea", { name: "text", rows: 3, maxlength: 2000 })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Send feedback")),
    h("p", { class: "feedback-status", role: "status" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(form.querySelector("button[type=submit]"), async () => {
      // A second note gets its own thank-you, not the first one's left standing.
      form.querySelector(".feedback-status").textContent = "";
      const values = formValues(form);
      const result = await graphql(LEAVE_FEEDBACK, {
        input: { packId: pack.id, sentiment: values.sentiment, text: values.text || null },
      });
      if (showTopLevelFailure(form, result, "leaveFeedback")) return;
      if (showErrors(form, result.data.leaveFeedback.errors)) return;
      form.querySelector(".feedback-status").textContent = "Thank you; the team reads every note.";
      form.querySelector("textarea").value = "";
    });
  });
  return form;
}

// ---------------------------------------------------------------- my links and points

const STANDING = `query Standing { viewer { user { pointsBalance tier badges { slug title awardedAt } } } }`;
const SHARING = `query Sharing { viewer { stats { shares humanClicks conversions pointsEarned } } }`;
const MY_LINKS = `query MyLinks { viewer { referralLinks(first: 50) { totalCount edges { node {
  id code shortUrl channel createdAt pack { title slug }
  stats { humanClicks uniqueVisitors previewFetches conversions } } } } } }`;

function meView() {
  if (!viewer) return requireSignIn("My links and points");
  const standing = h("section", { class: "card", "aria-labelledby": "standing-heading", dataset: { title: "Points and tier" } }, h("p", { class: "loading" }, "Loading…"));
  const sharing = h("section", { class: "card", "aria-labelledby": "sharing-heading", dataset: { title: "My sharing" } }, h("p", { class: "loading" }, "Loading…"));
  const links = h("section", { class: "card", "aria-labelledby": "links-heading", dataset: { title: "My links" } }, h("p", { class: "loading" }, "Loading…"));
  fill(main, h("h1", {}, `Hello, ${viewer.displayName}`), h("div", { class: "grid-2" }, standing, sharing), links);
  focusHeading(main);
  graphql(STANDING).then((result) => {
    renderSection(standing, result, "viewer", (value) => {
      const user = value.user;
      const nextIndex = tierThresholds.findIndex(([name]) => name === user.tier) + 1;
      appendTo(standing, h("h2", { id: "standing-heading" }, "Points and tier"),
        h("p", { class: "big" }, h("span", { class: "points-balance" }, String(user.pointsBalance)), " points to spend"),
        h("p", {}, "Tier: ", h("strong", { class: "tier" }, titleCase(user.tier))),
        tierNext(user.tier, nextIndex),
        h("h3", {}, "Badges"),
        user.badges.length
          ? h("ul", { class: "badges" }, user.badges.map((badge) => h("li", {}, h("span", { class: "badge-mark", "aria-hidden": "true" }, "★ "), badge.title,
            h("span", { class: "hint" }, ` (${formatDate(badge.awardedAt)})`))))
          : h("p", {}, "Share a pack to earn your first badge."));
    });
    // Progress needs lifetime points, which the sharing section loads.
    updateProgress(standing);
  });
  graphql(SHARING).then((result) => {
    renderSection(sharing, result, "viewer", (value) => {
      const stats = value.stats;
      sharing.dataset.lifetime = String(stats.pointsEarned);
      appendTo(sharing, h("h2", { id: "sharing-heading" }, "My sharing"),
        h("dl", { class: "stats" },
          h("dt", {}, "Shares"), h("dd", {}, String(stats.shares)),
          h("dt", {}, "Human clicks"), h("dd", {}, String(stats.humanClicks)),
          h("dt", {}, "Conversions"), h("dd", {}, String(stats.conversions)),
          h("dt", {}, "Lifetime points"), h("dd", {}, String(stats.pointsEarned))));
      updateProgress(standing);
    });
  });
  graphql(MY_LINKS).then((result) => {
    renderSection(links, result, "viewer", (value) => {
      const connection = value.referralLinks;
      appendTo(links, h("h2", { id: "links-heading" }, "My links"));
      if (!connection.edges.length) {
        appendTo(links, h("p", {}, "No links yet. ", h("a", { href: "#/" }, "Pick a pack to share.")));
        return;
      }
      appendTo(links, h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "My links table" },
        h("table", { class: "links" },
          h("caption", { class: "visually-hidden" }, "My links with their clicks and conversions"),
          h("thead", {}, h("tr", {}, ["Pack", "Channel", "Link", "Human clicks", "Unique visitors", "Conversions", "Previews (not counted)"]
            .map((label) => h("th", { scope: "col" }, label)))),
          h("tbody", {}, connection.edges.map(({ node }) => h("tr", { dataset: { code: node.code } },
            h("td", { dataset: { label: "Pack" } }, node.pack ? h("a", { href: `#/packs/${encodeURIComponent(node.pack.slug)}` }, node.pack.title) : "(pack unavailable)"),
            h("td", { dataset: { label: "Channel" } }, channelName(node.channel)),
            h("td", { dataset: { label: "Link" } }, h("code", {}, node.shortUrl)),
            h("td", { class: "num human-clicks", dataset: { label: "Human clicks" } }, String(node.stats.humanClicks)),
            h("td", { class: "num unique-visitors", dataset: { label: "Unique visitors" } }, String(node.stats.uniqueVisitors)),
            h("td", { class: "num conversions", dataset: { label: "Conversions" } }, String(node.stats.conversions)),
            h("td", { class: "num previews", dataset: { label: "Previews (not counted)" } }, String(node.stats.previewFetches))))))));
    });
  });
}

function tierNext(tier, nextIndex) {
  if (!tierThresholds.length) return h("p", { class: "hint" }, "Progress to the next tier cannot be shown right now.");
  if (nextIndex < tierThresholds.length) return tierProgress(tier, tierThresholds[nextIndex]);
  return h("p", {}, "You are at the top tier. Thank you!");
}

function tierProgress(tier, [nextTier, nextPoints]) {
  const progress = h("progress", { max: String(nextPoints), value: "0", "aria-labelledby": "tier-progress-label" });
  return h("div", { class: "tier-progress", dataset: { from: String(tierPoints(tier) ?? 0), next: String(nextPoints) } },
    h("p", { id: "tier-progress-label" }, `Progress to ${titleCase(nextTier)} (${nextPoints} lifetime points)`),
    progress,
    h("p", { class: "hint progress-text" }, ""));
}

function updateProgress(standing) {
  const sharing = standing.parentElement && standing.parentElement.querySelector("[data-lifetime]");
  const box = standing.querySelector(".tier-progress");
  if (!sharing || !box) return;
  const lifetime = Number(sharing.dataset.lifetime);
  const next = Number(box.dataset.next);
  box.querySelector("progress").value = Math.min(lifetime, next);
  box.querySelector(".progress-text").textContent = `${lifetime} of ${next} points; ${Math.max(0, next - lifetime)} to go.`;
}

// ---------------------------------------------------------------- rewards and catalog

const MY_REWARDS = `query MyRewards { viewer { rewards(first: 50) { totalCount edges { node {
  id kind status title points code note reason issuedAt } } } } }`;
const CATALOG = `query Catalog { rewardCatalog { id title kind costPoints remaining } balance: viewer { user { pointsBalance } } }`;
const MY_REDEMPTIONS = `query MyRedemptions { viewer { redemptions { id itemName costPoints code giftCardStatus giftCardCode createdAt } } }`;
const REDEEM = `mutation Redeem($input: RedeemRewardInput!) {
  redeemReward(input: $input) { reward { id title kind status code } pointsBalance errors { field message code } }
}`;

function rewardsView() {
  if (!viewer) return requireSignIn("Rewards");
  const mine = h("section", { class: "card", "aria-labelledby": "rewards-heading", dataset: { title: "My rewards" } }, h("p", { class: "loading" }, "Loading…"));
  const catalog = h("section", { class: "card", "aria-labelledby": "catalog-heading", dataset: { title: "Spend your points" } }, h("p", { class: "loading" }, "Loading…"));
  const redemptions = h("section", { class: "card", "aria-labelledby": "redemptions-heading", dataset: { title: "What I redeemed" } }, h("p", { class: "loading" }, "Loading…"));
  fill(main, h("h1", {}, "Rewards"), catalog, redemptions, mine);
  focusHeading(main);
  loadMyRewards(mine);
  loadRedemptions(redemptions);
  loadCatalog(catalog, () => {
    loadMyRewards(mine);
    loadRedemptions(redemptions);
  });
}

/**
 * A viewer field's result as if it were a top-level field, so renderSection sees its own
 * outage: `viewer` stays non-null while a rewards outage nulls `viewer.<field>`.
 */
function viewerField(result, name) {
  const viewerValue = result.data ? result.data.viewer : null;
  const errors = (result.errors || []).map((error) => (error.path && error.path[0] === "viewer"
    ? { ...error, path: error.path.slice(1) } : error));
  // A session that ended meanwhile leaves `viewer` null without an error: say what to do.
  if (!viewerValue && !errors.length) errors.push({ message: "Log in again to see this.", path: [name] });
  return { data: { [name]: viewerValue ? viewerValue[name] : null }, errors };
}

async function loadRedemptions(section) {
  const result = viewerField(await graphql(MY_REDEMPTIONS), "redemptions");
  renderSection(section, result, "redemptions", (items) => {
    appendTo(section, h("h2", { id: "redemptions-heading" }, "What I redeemed"));
    // Only fans redeem: a marketer looking at the portal gets null, not a list.
    if (items === null || items === undefined) {
      appendTo(section, h("p", {}, "Redemptions are kept for fans' accounts; this account is not a fan's."));
      return;
    }
    if (!items.length) {
      appendTo(section, h("p", {}, "Nothing yet: spend your points above."));
      return;
    }
    appendTo(section, h("ul", { class: "rewards redemptions" }, items.map((item) => h("li", { class: "reward redemption" },
      h("p", {}, h("strong", {}, item.itemName), ` · ${item.costPoints} points · ${formatDate(item.createdAt)}`),
      item.code ? h("p", {}, "Your code: ", h("code", { class: "reward-code" }, item.code)) : null,
      item.giftCardCode ? h("p", {}, "Gift card: ", h("code", { class: "reward-code" }, item.giftCardCode)) : null,
      !item.code && !item.giftCardCode && item.giftCardStatus ? h("p", { class: "hint" }, item.giftCardStatus === "PENDING" ? "Gift card on its way." : titleCase(item.giftCardStatus)) : null))));
  });
}

async function loadMyRewards(section) {
  const result = await graphql(MY_REWARDS);
  renderSection(section, result, "viewer", (value) => {
    const edges = value.rewards.edges;
    appendTo(section, h("h2", { id: "rewards-heading" }, "My rewards"));
    if (!edges.length) {
      appendTo(section, h("p", {}, "Nothing yet: share a pack and your thank-yous appear here."));
      return;
    }
    appendTo(section, h("ul", { class: "rewards" }, edges.map(({ node }) => h("li", { class: "reward", dataset: { kind: node.kind, status: node.status } },
      h("p", {}, h("strong", {}, node.title), node.points ? ` · ${node.points} points` : "", ` · ${titleCase(node.status)}`),
      h("p", { class: "hint" }, `${node.reason} · ${formatDate(node.issuedAt)}`),
      node.code ? h("p", {}, "Your code: ", h("code", { class: "reward-code" }, node.code)) : null,
      node.note ? h("p", { class: "note" }, node.note) : null))));
  });
}

async function loadCatalog(section, onRedeemed) {
  const result = await graphql(CATALOG);
  renderSection(section, result, "rewardCatalog", (items) => {
    const balance = result.data.balance ? result.data.balance.user.pointsBalance : null;
    appendTo(section, h("h2", { id: "catalog-heading" }, "Spend your points"),
      balance === null ? null : h("p", {}, "You have ", h("strong", { class: "catalog-balance" }, String(balance)), " points."));
    if (!items.length) {
      appendTo(section, h("p", {}, "The catalog is empty right now."));
      return;
    }
    appendTo(section, h("ul", { class: "catalog" }, items.map((item) => h("li", {}, catalogItem(item, section, onRedeemed)))));
    showWhatIsAffordable(section, balance);
  });
}

/** Why an item cannot be redeemed now (out of stock, points short), or "" when it can. */
function whyNotRedeemable(form, balance) {
  if (form.dataset.remaining === "0") return "None left right now.";
  const missing = balance === null ? 0 : Number(form.dataset.cost) - balance;
  return missing > 0 ? `${missing} more point${missing === 1 ? "" : "s"} needed.` : "";
}

/**
 * Offer "Redeem" only on what the fan can redeem now; say beside each other item why not.
 * A button disabled while it has the focus would drop it to the page's top, so the focus
 * moves to the item's own message first.
 */
function showWhatIsAffordable(section, balance) {
  for (const form of section.querySelectorAll("form.catalog-item")) {
    const reason = whyNotRedeemable(form, balance);
    const button = form.querySelector("button[type=submit]");
    form.querySelector(".points-needed").textContent = reason;
    const remaining = form.dataset.remaining;
    form.querySelector(".stock").textContent = remaining === "" ? "" : ` · ${remaining} left`;
    button.textContent = remaining === "0" ? "Out of stock" : `Redeem for ${form.dataset.cost} points`;
    if (reason && document.activeElement === button) {
      const redeemed = form.querySelector(".redeemed");
      const message = form.querySelector(".form-error")
        || (redeemed.childElementCount ? redeemed : form.querySelector(".points-needed"));
      message.setAttribute("tabindex", "-1");
      message.focus();
    }
    button.disabled = Boolean(reason);
  }
}

/** Read the balance and stock again (another tab may have spent points) and show them. */
async function refreshCatalog(section) {
  const result = await graphql(CATALOG);
  const items = result.data ? result.data.rewardCatalog : null;
  if (!items) return;
  const balance = result.data.balance ? result.data.balance.user.pointsBalance : null;
  const shown = section.querySelector(".catalog-balance");
  if (shown && balance !== null) shown.textContent = String(balance);
  for (const item of items) {
    const form = section.querySelector(`form.catalog-item[data-item-id="${CSS.escape(item.id)}"]`);
    if (form) form.dataset.remaining = item.remaining === null ? "" : String(item.remaining);
  }
  showWhatIsAffordable(section, balance);
}

// Rewards' answers that mean the page showed a balance or stock that has changed since.
const STALE_CATALOG_CODES = new Set(["INSUFFICIENT_POINTS", "OUT_OF_STOCK"]);

function newIdempotencyKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
}

function catalogItem(item, section, onRedeemed) {
  const result = h("div", { class: "redeemed", role: "status" });
  const reasonId = uniqueId("points-needed");
  const form = h("form", { class: "catalog-item", "aria-label": item.title,
    dataset: { itemId: item.id, cost: String(item.costPoints), remaining: item.remaining === null ? "" : String(item.remaining) } },
    h("p", {}, h("strong", {}, item.title), ` · ${item.costPoints} points`, h("span", { class: "stock" })),
    h("p", { class: "hint points-needed", id: reasonId }),
    h("div", { class: "actions" }, h("button", { type: "submit", "aria-describedby": reasonId })),
    result);
  // One key per redemption: a double click or a retry redeems once; a new key after each
  // success, so the fan can redeem the same item again on purpose.
  let idempotencyKey = newIdempotencyKey();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button.disabled) return;
    await busy(button, async () => {
      const answer = await graphql(REDEEM, { input: { catalogItemId: item.id, idempotencyKey } });
      if (showTopLevelFailure(form, answer, "redeemReward")) return;
      const payload = answer.data.redeemReward;
      if (showErrors(form, payload.errors)) {
        // The server's refusal stays shown; the balance and stock beside it are brought up to date.
        if (payload.errors.some((error) => STALE_CATALOG_CODES.has(error.code))) await refreshCatalog(section);
        return;
      }
      idempotencyKey = newIdempotencyKey();
      const reward = payload.reward;
      fill(result, h("p", {}, `Redeemed: ${reward.title}.`),
        reward.code ? h("p", {}, "Your code: ", h("code", { class: "redeemed-code" }, reward.code)) : h("p", {}, "It is on its way."),
        h("p", {}, `Points left: ${payload.pointsBalance}.`));
      const balance = section.querySelector(".catalog-balance");
      if (balance) balance.textContent = String(payload.pointsBalance);
      if (form.dataset.remaining) form.dataset.remaining = String(Math.max(0, Number(form.dataset.remaining) - 1));
      showWhatIsAffordable(section, payload.pointsBalance);
      announce(`Redeemed ${reward.title}.`);
      onRedeemed();
    });
  });
  return form;
}

// ---------------------------------------------------------------- leaderboard

const LEADERBOARD = `query Leaderboard($period: LeaderboardPeriod) {
  leaderboard(first: 20, period: $period) { rank displayName points tier }
}`;

function leaderboardView(params) {
  const period = params.get("period") || "WEEK";
  const form = h("form", { class: "filters", "aria-label": "Leaderboard period" },
    field("Period", select("period", [["WEEK", "This week"], ["MONTH", "This month"], ["ALL_TIME", "All time"]], period)),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    goTo(`#/leaderboard?period=${formValues(form).period}`);
  });
  const section = h("section", { "aria-label": "Top fans" }, h("p", { class: "loading" }, "Loading…"));
  fill(main, h("h1", {}, "Leaderboard"), form, section);
  focusHeading(main);
  graphql(LEADERBOARD, { period }).then((result) => {
    renderSection(section, result, "leaderboard", (entries) => {
      if (!entries.length) {
        appendTo(section, h("p", {}, "No points yet in this period. Share a pack to lead!"));
        return;
      }
      appendTo(section, h("table", { class: "leaderboard" },
        h("caption", { class: "visually-hidden" }, "Top fans by points"),
        h("thead", {}, h("tr", {}, ["Rank", "Fan", "Points", "Tier"].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, entries.map((entry) => h("tr", {},
          h("td", { class: "num" }, String(entry.rank)), h("td", {}, entry.displayName),
          h("td", { class: "num" }, String(entry.points)), h("td", {}, titleCase(entry.tier)))))));
    });
  });
}

// ---------------------------------------------------------------- account

const UPDATE_PREFERENCES = `mutation UpdatePreferences($input: UpdatePreferencesInput!) {
  updatePreferences(input: $input) { user { id displayName email role thankYouChannel } errors { field message code } }
}`;

function accountView() {
  if (!viewer) return requireSignIn("Account");
  const preferences = h("form", { class: "card form", novalidate: true, "aria-labelledby": "prefs-heading" },
    h("h2", { id: "prefs-heading" }, "How should we thank you?"),
    field("Display name", input("displayName", { value: viewer.displayName, autocomplete: "nickname" })),
    h("fieldset", { class: "field", dataset: { field: "thankYouChannel" } },
      h("legend", {}, "Thank-you channel"),
      THANK_YOU_CHANNELS.map(([value, label]) => h("label", { class: "choice" },
        h("input", { type: "radio", name: "thankYouChannel", value, checked: viewer.thankYouChannel === value }), ` ${label}`))),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save")),
    h("p", { class: "saved", role: "status" }));
  preferences.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(preferences.querySelector("button[type=submit]"), async () => {
      const values = formValues(preferences);
      const result = await graphql(UPDATE_PREFERENCES, {
        input: { displayName: values.displayName, thankYouChannel: values.thankYouChannel },
      });
      if (showTopLevelFailure(preferences, result, "updatePreferences")) return;
      const payload = result.data.updatePreferences;
      if (showErrors(preferences, payload.errors)) return;
      viewer = payload.user;
      renderNav();
      preferences.querySelector(".saved").textContent = "Saved.";
    });
  });

  const exportStatus = h("div", { role: "status" });
  const exportButton = h("button", { type: "button" }, "Export my data");
  exportButton.addEventListener("click", () => busy(exportButton, async () => {
    const result = await graphql("mutation Export { exportMyData { data errors { message } } }");
    const payload = result.data && result.data.exportMyData;
    if (!payload || payload.errors.length || !payload.data) {
      const message = payload && payload.errors.length ? payload.errors[0].message : (result.errors[0] || {}).message;
      fill(exportStatus, h("p", { class: "form-error" }, message || "The export failed; try again."));
      return;
    }
    const blob = new Blob([JSON.stringify(JSON.parse(payload.data), null, 2)], { type: "application/json" });
    const href = URL.createObjectURL(blob);
    fill(exportStatus, h("p", {}, "Your data is ready: ", h("a", { href, download: "fanfare-my-data.json", class: "export-link" }, "download fanfare-my-data.json")));
  }));

  // novalidate: the page says what to fix beside the box, as every other form does.
  const deleteForm = h("form", { class: "card form danger", novalidate: true, "aria-labelledby": "delete-heading" },
    h("h2", { id: "delete-heading" }, "Delete my account"),
    h("p", {}, "This erases your personal data in every part of Fanfare. Anonymous counts stay. It cannot be undone."),
    h("div", { class: "field", dataset: { field: "confirm" } },
      h("label", { class: "choice" }, h("input", { type: "checkbox", name: "confirm", value: "yes", required: true }), " I understand; delete my account")),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "danger" }, "Delete my account")));
  deleteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!formValues(deleteForm).confirm) {
      showErrors(deleteForm, [{ field: ["input", "confirm"], message: "Tick the box to confirm." }]);
      return;
    }
    await busy(deleteForm.querySelector("button[type=submit]"), async () => {
      const result = await graphql("mutation Delete { deleteMyAccount { ok errors { field message code } } }");
      if (showTopLevelFailure(deleteForm, result, "deleteMyAccount")) return;
      const payload = result.data.deleteMyAccount;
      if (showErrors(deleteForm, payload.errors)) return;
      viewer = null;
      forgetReturn();
      say("Your account is deleted. Thank you for sharing with us.");
      goTo("#/");
    });
  });

  fill(main, h("h1", {}, "Account"), preferences,
    h("section", { class: "card", "aria-labelledby": "export-heading" }, h("h2", { id: "export-heading" }, "My data"),
      h("p", {}, "Everything Fanfare holds about you, from every service, as one JSON file."), exportButton, exportStatus),
    deleteForm);
  focusHeading(main);
}

// ---------------------------------------------------------------- router

const VIEW_TITLES = {
  "/login": "Log in", "/signup": "Sign up", "/me": "My links and points", "/rewards": "Rewards",
  "/leaderboard": "Leaderboard", "/account": "Account",
};

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  // Each view names itself in the tab and the history (a pack's view puts its title there).
  document.title = VIEW_TITLES[path] ? `${VIEW_TITLES[path]} · Fanfare` : "Fanfare: share what you love";
  renderNav();
  if (!viewer && !["/login", "/signup"].includes(path)) {
    if (path === "/") forgetReturn();
    else rememberReturn(`#${hash}`);
    return welcomeView(path);
  }
  if (path.startsWith("/packs/")) return packView(decodeURIComponent(path.slice("/packs/".length)));
  switch (path) {
    case "/login":
      fill(main, logInForm(signedIn, { extra: h("p", {}, "New here? ", h("a", { href: "#/signup" }, "Sign up")) }));
      return focusHeading(main);
    case "/signup":
      fill(main, signUpForm(signedIn));
      return focusHeading(main);
    case "/me":
      return meView();
    case "/rewards":
      return rewardsView();
    case "/leaderboard":
      return leaderboardView(params);
    case "/account":
      return accountView();
    default:
      return packsView(params);
  }
}

window.addEventListener("hashchange", () => {
  // From now on a new view takes the focus to its heading; the first view leaves it at the top.
  document.body.dataset.navigated = "yes";
  route();
});
viewer = await loadViewer();
if (viewer) await loadTierThresholds();
route();
