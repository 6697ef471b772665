// The console's rewards views: reward rules, code banks (CSV preview, then import), and the
// manual gift-card and handwritten-note queues. Only the public GraphQL API, as a marketer.

import { graphql } from "./graphql.js";
import {
  announce,
  appendTo,
  busy,
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

const TRIGGERS = [
  ["SHARE_RECORDED", "A fan shares"],
  ["HUMAN_CLICKS_REACHED", "A fan's link reaches a number of human clicks"],
  ["CONVERSION_APPROVED", "A conversion is approved"],
  ["TIER_REACHED", "A fan reaches a tier"],
];
const KINDS = [
  ["POINTS", "Points"],
  ["BADGE", "A badge"],
  ["DISCOUNT_CODE", "A discount code from a bank"],
  ["GIFT_CARD", "A gift card"],
  ["THANK_YOU_NOTE", "A thank-you note"],
];
const TIERS = [["ADVOCATE", "Advocate"], ["INSIDER", "Insider"], ["AMBASSADOR", "Ambassador"]];
// Which inputs each trigger and each reward kind needs; the others are hidden.
const NEEDED_BY_TRIGGER = { HUMAN_CLICKS_REACHED: ["triggerClicks"], TIER_REACHED: ["triggerTier"] };
const NEEDED_BY_KIND = {
  POINTS: ["points"],
  BADGE: ["badgeCode"],
  DISCOUNT_CODE: ["codeBankId"],
  GIFT_CARD: ["giftCardAmountCents", "giftCardCurrency"],
  THANK_YOU_NOTE: ["noteTemplate"],
};
const SWITCHED = ["triggerClicks", "triggerTier", "points", "badgeCode", "codeBankId", "giftCardAmountCents", "giftCardCurrency", "noteTemplate"];
const WHOLE_NUMBERS = ["triggerClicks", "points", "giftCardAmountCents", "capPerDay", "capPerWeek", "capTotal", "budget"];
// The fields the rule form edits (pausing is the list's job, not the edit form's).
const EDITED = ["name", "trigger", "triggerClicks", "triggerTier", "packId", "tag", "rewardKind", "points", "badgeCode",
  "codeBankId", "giftCardAmountCents", "giftCardCurrency", "noteTemplate", "capPerDay", "capPerWeek", "capTotal", "budget"];

const ERRORS = "errors { field message code }";
const RULE_FIELDS = `id name trigger triggerClicks triggerTier packId tag rewardKind points badgeCode codeBankId
  giftCardAmountCents giftCardCurrency noteTemplate capPerDay capPerWeek capTotal budget budgetSpent issuedCount paused`;
const RULES = `query RewardRules { rewardRules { ${RULE_FIELDS} } }`;
const RULE_CHOICES = `query RuleChoices { codeBanks { id name remaining } }`;
const RULE_PACKS = `query RulePacks { contentPacks(first: 100) { edges { node { id title } } } }`;
const CREATE_RULE = `mutation CreateRule($input: CreateRewardRuleInput!) {
  createRewardRule(input: $input) { rule { ${RULE_FIELDS} } ${ERRORS} }
}`;
const UPDATE_RULE = `mutation UpdateRule($input: UpdateRewardRuleInput!) {
  updateRewardRule(input: $input) { rule { ${RULE_FIELDS} } ${ERRORS} }
}`;
const BANK_FIELDS = "id name lowStockThreshold remaining handedOut";
const BANKS = `query CodeBanks { codeBanks { ${BANK_FIELDS} } }`;
const CREATE_BANK = `mutation CreateBank($input: CreateCodeBankInput!) {
  createCodeBank(input: $input) { codeBank { ${BANK_FIELDS} } ${ERRORS} }
}`;
const UPLOAD_CODES = `mutation UploadCodes($input: UploadCodesInput!) {
  uploadCodes(input: $input) {
    report { accepted dryRun waitingRewardsServed rejected { line code error } }
    codeBank { ${BANK_FIELDS} } ${ERRORS}
  }
}`;
const GIFT_CARDS = `query GiftCardQueue { giftCardOrders(status: PENDING) { id amountCents currency reason createdAt } }`;
const FULFIL = `mutation Fulfil($input: FulfilGiftCardOrderInput!) {
  fulfilGiftCardOrder(input: $input) { order { id status } ${ERRORS} }
}`;
const NOTES = `query NoteQueue { handwrittenNotes(status: PENDING) { id displayName message createdAt } }`;
const MARK_WRITTEN = `mutation MarkWritten($input: MarkNoteWrittenInput!) {
  markNoteWritten(input: $input) { note { id status } ${ERRORS} }
}`;

function money(cents, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

function tableOf(label, headings, rows) {
  return h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": label },
    stacked(h("table", {},
      h("caption", { class: "visually-hidden" }, label),
      h("thead", {}, h("tr", {}, headings.map((heading) => h("th", { scope: "col" }, heading)))),
      h("tbody", {}, rows))));
}

/**
 * The form's values as GraphQL input, whole numbers as numbers. A new rule (`original`
 * null) leaves empty fields out. An edited rule sends only the fields that differ from
 * `original` (the rule as the form showed it), and null for a field emptied, which
 * clears it; the server says which fields a rule cannot lack.
 */
function ruleInput(form, original = null) {
  const values = formValues(form);
  const data = {};
  const problems = [];
  for (const [name, raw] of Object.entries(values)) {
    const value = raw.trim();
    if (name === "paused") continue;
    const wrapper = form.querySelector(`[data-field="${name}"]`);
    if (wrapper && wrapper.hidden) continue;
    if (original && value === original[name].trim()) continue;
    if (value === "") {
      if (original) data[name] = null;
      continue;
    }
    if (WHOLE_NUMBERS.includes(name)) {
      const number = Number(value);
      if (!Number.isInteger(number) || number < 1) {
        problems.push({ field: ["input", name], message: "Use a whole number of 1 or more.", code: "INVALID" });
        continue;
      }
      data[name] = number;
    } else {
      data[name] = value;
    }
  }
  if (!original) data.paused = form.querySelector("input[name=paused]").checked;
  return { data, problems };
}

/** A rule's edited fields as the form's text ("" for none), to fill the form and compare. */
function ruleFormValues(rule) {
  return Object.fromEntries(EDITED.map((name) => [name, rule[name] === null || rule[name] === undefined ? "" : String(rule[name])]));
}

/** Put `value` in the select, adding it (labelled `label`) if the choices loaded lack it. */
function choose(control, value, label) {
  if (value !== "" && ![...control.options].some((option) => option.value === value)) {
    appendTo(control, h("option", { value }, label));
  }
  control.value = value;
}

function showNeededFields(form) {
  const { trigger, rewardKind } = formValues(form);
  const needed = new Set([...(NEEDED_BY_TRIGGER[trigger] || []), ...(NEEDED_BY_KIND[rewardKind] || [])]);
  for (const name of SWITCHED) {
    const wrapper = form.querySelector(`[data-field="${name}"]`);
    if (wrapper) wrapper.hidden = !needed.has(name);
  }
}

function describeRule(rule, packTitles) {
  const trigger = {
    SHARE_RECORDED: "Share",
    HUMAN_CLICKS_REACHED: `${rule.triggerClicks} human clicks`,
    CONVERSION_APPROVED: "Approved conversion",
    TIER_REACHED: `Reaches ${titleCase(rule.triggerTier)}`,
  }[rule.trigger] || titleCase(rule.trigger);
  const filters = [
    rule.packId ? `pack “${packTitles.get(rule.packId) || "a pack"}”` : "",
    rule.tag ? `tag ${rule.tag}` : "",
  ].filter(Boolean).join(", ") || "any pack";
  const reward = {
    POINTS: `${rule.points} points`,
    BADGE: `badge ${rule.badgeCode}`,
    DISCOUNT_CODE: "discount code",
    GIFT_CARD: rule.giftCardAmountCents ? `${money(rule.giftCardAmountCents, rule.giftCardCurrency)} gift card` : "gift card",
    THANK_YOU_NOTE: "thank-you note",
  }[rule.rewardKind] || titleCase(rule.rewardKind);
  const caps = [
    rule.capPerDay ? `${rule.capPerDay}/day` : "",
    rule.capPerWeek ? `${rule.capPerWeek}/week` : "",
    rule.capTotal ? `${rule.capTotal} in all` : "",
  ].filter(Boolean).join(", ") || "none";
  const budget = rule.budget ? `${rule.budgetSpent} of ${rule.budget}` : `${rule.budgetSpent} (no limit)`;
  return { trigger, filters, reward, caps, budget };
}

// ---------------------------------------------------------------- reward rules

export function rulesView(main) {
  const list = h("section", { class: "card", "aria-labelledby": "rules-heading", dataset: { title: "Rules" } }, h("p", { class: "loading" }, "Loading…"));
  const bankChoice = select("codeBankId", [["", "Choose a bank"]], "");
  const packChoice = select("packId", [["", "Any pack"]], "");
  const heading = h("h2", { id: "new-rule-heading" }, "New rule");
  const startPaused = h("label", { class: "choice" }, h("input", { type: "checkbox", name: "paused", value: "yes" }), " Start paused");
  const submitButton = h("button", { type: "submit", class: "primary" }, "Create rule");
  const cancelButton = h("button", { type: "button", hidden: true }, "Cancel editing");
  const form = h("form", { class: "card form rule-form", novalidate: true, "aria-labelledby": "new-rule-heading" },
    heading,
    field("Name", input("name", { required: true, maxlength: 120, placeholder: "e.g. Thanks for sharing" }), "Fans see it as the reward's title."),
    h("fieldset", { class: "group" }, h("legend", {}, "When"),
      field("Trigger", select("trigger", TRIGGERS, "SHARE_RECORDED")),
      field("Human clicks", input("triggerClicks", { type: "number", min: 1, inputmode: "numeric" })),
      field("Tier", select("triggerTier", TIERS, "ADVOCATE"))),
    h("fieldset", { class: "group" }, h("legend", {}, "Only for (optional)"),
      h("div", { class: "grid-2" }, field("Pack", packChoice), field("Tag", input("tag", { maxlength: 60 }), "Packs with this tag."))),
    h("fieldset", { class: "group" }, h("legend", {}, "Reward"),
      field("Kind", select("rewardKind", KINDS, "POINTS")),
      field("Points", input("points", { type: "number", min: 1, inputmode: "numeric" })),
      field("Badge code", input("badgeCode", { maxlength: 60 })),
      field("Code bank", bankChoice),
      h("div", { class: "grid-2" },
        field("Gift card value in cents", input("giftCardAmountCents", { type: "number", min: 1, inputmode: "numeric" }), "1000 is 10.00."),
        field("Currency", input("giftCardCurrency", { maxlength: 3, placeholder: "EUR", autocapitalize: "characters" }))),
      field("Note", h("textarea", { name: "noteTemplate", rows: 3, maxlength: 2000 }))),
    h("fieldset", { class: "group" }, h("legend", {}, "Limits (optional)"),
      h("div", { class: "grid-2" },
        field("Per fan per day", input("capPerDay", { type: "number", min: 1, inputmode: "numeric" })),
        field("Per fan per week", input("capPerWeek", { type: "number", min: 1, inputmode: "numeric" }))),
      h("div", { class: "grid-2" },
        field("Per fan in all", input("capTotal", { type: "number", min: 1, inputmode: "numeric" })),
        field("Budget", input("budget", { type: "number", min: 1, inputmode: "numeric" }), "Points, cents for gift cards, or rewards."))),
    startPaused,
    h("div", { class: "actions" }, submitButton, cancelButton),
    h("p", { class: "saved", role: "status" }));
  form.addEventListener("change", (event) => {
    if (["trigger", "rewardKind"].includes(event.target.name)) showNeededFields(form);
  });
  showNeededFields(form);
  const packTitles = new Map();
  // The rule being edited, and its fields as the form first showed them; null for a new rule.
  let editing = null;
  let original = null;

  const stopEditing = () => {
    editing = null;
    original = null;
    form.reset();
    clearErrors(form);
    showNeededFields(form);
    heading.textContent = "New rule";
    submitButton.textContent = "Create rule";
    cancelButton.hidden = true;
    startPaused.hidden = false;
  };
  const focusEditButton = (ruleId) => {
    const button = list.querySelector(`tr[data-rule-id="${CSS.escape(ruleId)}"] .edit-rule`);
    if (button) button.focus();
  };
  const startEditing = (rule) => {
    stopEditing();
    editing = rule;
    original = ruleFormValues(rule);
    for (const [name, value] of Object.entries(original)) {
      const control = form.elements.namedItem(name);
      if (name === "packId") choose(control, value, packTitles.get(value) || "The rule's pack");
      else if (name === "codeBankId") choose(control, value, "The rule's bank");
      else if (control.tagName === "SELECT") control.value = value || control.options[0].value;
      else control.value = value;
    }
    showNeededFields(form);
    heading.textContent = `Edit rule “${rule.name}”`;
    submitButton.textContent = "Save changes";
    cancelButton.hidden = false;
    startPaused.hidden = true;
    form.querySelector(".saved").textContent = "";
    form.scrollIntoView({ block: "start" });
    form.elements.namedItem("name").focus();
  };
  cancelButton.addEventListener("click", () => {
    const ruleId = editing && editing.id;
    stopEditing();
    if (ruleId) focusEditButton(ruleId);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    form.querySelector(".saved").textContent = "";
    const { data, problems } = ruleInput(form, original);
    if (showErrors(form, problems)) return;
    if (editing && Object.keys(data).length === 0) {
      form.querySelector(".saved").textContent = "Nothing to save: no field was changed.";
      return;
    }
    await busy(submitButton, async () => {
      if (editing) {
        const result = await graphql(UPDATE_RULE, { input: { id: editing.id, ...data } });
        if (showTopLevelFailure(form, result, "updateRewardRule")) return;
        const payload = result.data.updateRewardRule;
        if (showErrors(form, payload.errors)) return;
        stopEditing();
        form.querySelector(".saved").textContent = `Rule “${payload.rule.name}” saved.`;
        announce(`Rule ${payload.rule.name} saved.`);
        await loadRules(list, packTitles, startEditing);
        focusEditButton(payload.rule.id);
        return;
      }
      const result = await graphql(CREATE_RULE, { input: data });
      if (showTopLevelFailure(form, result, "createRewardRule")) return;
      const payload = result.data.createRewardRule;
      if (showErrors(form, payload.errors)) return;
      form.reset();
      showNeededFields(form);
      form.querySelector(".saved").textContent = `Rule “${payload.rule.name}” created${payload.rule.paused ? ", paused" : ""}.`;
      announce(`Rule ${payload.rule.name} created.`);
      loadRules(list, packTitles, startEditing);
    });
  });
  fill(main, h("h1", {}, "Reward rules"),
    h("p", {}, "Each rule thanks fans for one deed, at most once per deed; paused rules give nothing."),
    list, form);
  focusHeading(main);
  graphql(RULE_CHOICES).then((result) => {
    const banks = (result.data && result.data.codeBanks) || [];
    for (const bank of banks) {
      const label = `${bank.name} (${bank.remaining} left)`;
      // A rule opened for editing before the banks came may have added its bank already.
      const known = [...bankChoice.options].find((option) => option.value === bank.id);
      if (known) known.textContent = label;
      else appendTo(bankChoice, h("option", { value: bank.id }, label));
    }
  });
  graphql(RULE_PACKS).then((result) => {
    const packs = result.data && result.data.contentPacks ? result.data.contentPacks.edges.map((edge) => edge.node) : [];
    packs.forEach((pack) => packTitles.set(pack.id, pack.title));
    appendTo(packChoice, ...packs.map((pack) => h("option", { value: pack.id }, pack.title)));
    loadRules(list, packTitles, startEditing);
  });
}

async function loadRules(section, packTitles, onEdit) {
  const result = await graphql(RULES);
  renderSection(section, result, "rewardRules", (rules) => {
    appendTo(section, h("h2", { id: "rules-heading" }, "Rules"));
    if (!rules.length) {
      appendTo(section, h("p", {}, "No rules yet: fans earn nothing until you add one."));
      return;
    }
    appendTo(section, tableOf("Reward rules", ["Name", "When", "Only for", "Reward", "Limits per fan", "Budget used", "Given", "State"],
      rules.map((rule) => {
        const text = describeRule(rule, packTitles);
        return h("tr", { dataset: { ruleId: rule.id } },
          h("td", {}, rule.name), h("td", {}, text.trigger), h("td", {}, text.filters), h("td", {}, text.reward),
          h("td", {}, text.caps), h("td", {}, text.budget), h("td", { class: "num" }, String(rule.issuedCount)),
          h("td", {}, h("span", { class: `status status-${rule.paused ? "draft" : "published"}` }, rule.paused ? "Paused" : "Live"), " ",
            pauseButton(rule, section, packTitles, onEdit), " ", editButton(rule, onEdit)));
      })));
  });
}

function editButton(rule, onEdit) {
  return h("button", { type: "button", class: "edit-rule", onclick: () => onEdit(rule) },
    h("span", {}, "Edit"), h("span", { class: "visually-hidden" }, ` ${rule.name}`));
}

function pauseButton(rule, section, packTitles, onEdit) {
  const action = rule.paused ? "Resume" : "Pause";
  const form = h("form", { class: "inline", "aria-label": `${action} ${rule.name}` },
    h("button", { type: "submit" }, h("span", {}, action), h("span", { class: "visually-hidden" }, ` ${rule.name}`)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(form.querySelector("button"), async () => {
      const result = await graphql(UPDATE_RULE, { input: { id: rule.id, paused: !rule.paused } });
      if (showTopLevelFailure(form, result, "updateRewardRule")) return;
      if (showErrors(form, result.data.updateRewardRule.errors)) return;
      announce(`${rule.name} is ${rule.paused ? "live again" : "paused"}.`);
      await loadRules(section, packTitles, onEdit);
      refocus(section, `tr[data-rule-id="${CSS.escape(rule.id)}"] form.inline button`);
    });
  });
  return form;
}

// ---------------------------------------------------------------- code banks

export function codeBanksView(main) {
  const list = h("section", { class: "card", "aria-labelledby": "banks-heading", dataset: { title: "Banks" } }, h("p", { class: "loading" }, "Loading…"));
  const bankChoice = select("codeBankId", [], "");
  const createForm = h("form", { class: "card form", novalidate: true, "aria-labelledby": "new-bank-heading" },
    h("h2", { id: "new-bank-heading" }, "New code bank"),
    field("Bank name", input("name", { required: true, maxlength: 120, placeholder: "e.g. Spring 10% off" })),
    field("Warn below", input("lowStockThreshold", { type: "number", min: 0, value: "10", inputmode: "numeric" }), "Codes left before you are warned."),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create bank")),
    h("p", { class: "saved", role: "status" }));
  const preview = h("div", { class: "code-preview", role: "status" });
  const importButton = h("button", { type: "button", class: "primary", hidden: true }, "Import");
  const progressLabel = h("span", { id: "codes-progress-label", role: "status" });
  const progress = h("progress", { max: "100", value: "0", hidden: true, "aria-labelledby": "codes-progress-label" });
  const uploadForm = h("form", { class: "card form upload", novalidate: true, "aria-labelledby": "upload-heading" },
    h("h2", { id: "upload-heading" }, "Add codes from a CSV file"),
    field("Into bank", bankChoice),
    field("CSV file", input("csv", { type: "file", accept: ".csv,text/csv,text/plain", required: true }),
      "One code per row; a first row reading “code” is skipped. Preview first: nothing is imported until you confirm."),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Preview"), importButton),
    h("p", { class: "upload-progress" }, progressLabel, " ", progress),
    preview);
  let previewed = null;

  const refreshBanks = async (selected) => {
    const result = await graphql(BANKS);
    renderSection(list, result, "codeBanks", (banks) => {
      appendTo(list, h("h2", { id: "banks-heading" }, "Banks"));
      fill(bankChoice, banks.map((bank) => h("option", { value: bank.id, selected: bank.id === selected }, bank.name)));
      if (!banks.length) {
        appendTo(list, h("p", {}, "No code banks yet."));
        return;
      }
      appendTo(list, tableOf("Code banks", ["Name", "Codes left", "Handed out", "Warn below"], banks.map((bank) => h("tr", { dataset: { bankId: bank.id } },
        h("td", {}, bank.name), h("td", { class: "num" }, String(bank.remaining)),
        h("td", { class: "num" }, String(bank.handedOut)), h("td", { class: "num" }, String(bank.lowStockThreshold))))));
    });
  };

  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(createForm);
    const values = formValues(createForm);
    const threshold = values.lowStockThreshold.trim() === "" ? null : Number(values.lowStockThreshold);
    if (threshold !== null && (!Number.isInteger(threshold) || threshold < 0)) {
      showErrors(createForm, [{ field: ["input", "lowStockThreshold"], message: "Use a whole number of 0 or more." }]);
      return;
    }
    await busy(createForm.querySelector("button[type=submit]"), async () => {
      const input = { name: values.name.trim() };
      if (threshold !== null) input.lowStockThreshold = threshold;
      const result = await graphql(CREATE_BANK, { input });
      if (showTopLevelFailure(createForm, result, "createCodeBank")) return;
      const payload = result.data.createCodeBank;
      if (showErrors(createForm, payload.errors)) return;
      createForm.reset();
      createForm.querySelector(".saved").textContent = `Bank “${payload.codeBank.name}” created; add codes below.`;
      announce(`Bank ${payload.codeBank.name} created.`);
      await refreshBanks(payload.codeBank.id);
    });
  });

  const resetPreview = () => {
    previewed = null;
    importButton.hidden = true;
    fill(preview);
  };
  uploadForm.addEventListener("change", resetPreview);

  const send = async (dryRun, button) => {
    clearErrors(uploadForm);
    const file = uploadForm.querySelector("input[name=csv]").files[0];
    const codeBankId = formValues(uploadForm).codeBankId;
    if (!codeBankId) {
      showErrors(uploadForm, [{ field: ["input", "codeBankId"], message: "Create a code bank first." }]);
      return;
    }
    if (!file) {
      showErrors(uploadForm, [{ field: ["input", "csv"], message: "Choose a CSV file of codes." }]);
      return;
    }
    await busy(button, async () => {
      const slices = dryRun ? slicesOf(await file.text()) : previewed.slices;
      const rows = slices.reduce((sum, slice) => sum + slice.rows.length, 0);
      if (rows === 0 || rows > MAX_FILE_ROWS) {
        const message = rows === 0
          ? "The file has no codes; put one code per row."
          : `The file has ${rows} rows; send at most ${MAX_FILE_ROWS} codes per file (split it).`;
        showErrors(uploadForm, [{ field: ["input", "csv"], message }]);
        return;
      }
      progress.hidden = false;
      progress.value = 0;
      progressLabel.textContent = dryRun ? "Checking the codes…" : "Importing the codes…";
      const outcome = await sendSlices({ codeBankId, slices, dryRun, onProgress: (fraction) => { progress.value = Math.round(fraction * 100); } });
      progress.hidden = true;
      progressLabel.textContent = "";
      if (outcome.failure) {
        const done = outcome.sentRows
          ? ` ${outcome.accepted} code(s) from the first ${outcome.sentRows} rows were imported; send the file again for the rest (codes already in the bank are left out).`
          : "";
        if (!showTopLevelFailure(uploadForm, outcome.failure, "uploadCodes")) {
          const payload = outcome.failure.data && outcome.failure.data.uploadCodes;
          showErrors(uploadForm, payload ? payload.errors : [{ message: "The codes could not be sent; try again." }]);
        }
        if (!dryRun && done) uploadForm.querySelector(".form-error, .field-error")?.append(done);
        if (!dryRun) await refreshBanks(codeBankId);
        return;
      }
      if (dryRun) {
        previewed = { slices, accepted: outcome.accepted };
        renderPreview(preview, outcome, file.name);
        importButton.textContent = `Import ${outcome.accepted} code${outcome.accepted === 1 ? "" : "s"}`;
        importButton.hidden = outcome.accepted === 0;
        announce(`${outcome.accepted} codes would be imported; ${outcome.rejected.length} rows would be left out.`);
        return;
      }
      previewed = null;
      importButton.hidden = true;
      uploadForm.querySelector("input[name=csv]").value = "";
      fill(preview, h("p", { class: "imported" },
        `Imported ${outcome.accepted} code${outcome.accepted === 1 ? "" : "s"} into “${outcome.codeBank.name}”; ${outcome.codeBank.remaining} left in the bank.`,
        outcome.rejected.length ? ` ${outcome.rejected.length} row(s) were left out.` : "",
        outcome.waitingRewardsServed ? ` ${outcome.waitingRewardsServed} fan(s) waiting for a code got one.` : ""));
      announce(`Imported ${outcome.accepted} codes.`);
      await refreshBanks(codeBankId);
    });
  };
  uploadForm.addEventListener("submit", (event) => {
    event.preventDefault();
    send(true, event.submitter || uploadForm.querySelector("button[type=submit]"));
  });
  importButton.addEventListener("click", () => {
    if (previewed) send(false, importButton);
  });

  fill(main, h("h1", {}, "Code banks"),
    h("p", {}, "Discount codes for rules and catalog items; each code goes to one fan."),
    list, createForm, uploadForm);
  focusHeading(main);
  refreshBanks(null);
}

// The gateway waits for a service only so long (1.5 s by default), so a file goes in
// slices of SLICE_ROWS rows: rewards stores 5,000 codes in about 0.6 s, so a slice of 2,000
// leaves room on a busy machine. Each slice starts with a "code" header, so a first code
// that reads "code" is never skipped as one; lines are mapped back.
const SLICE_ROWS = 2000;
const MAX_FILE_ROWS = 100_000;

function slicesOf(text) {
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  const hasHeader = lines.length > 0 && lines[0].split(",")[0].trim().toLowerCase() === "code";
  const slices = [];
  for (let index = hasHeader ? 1 : 0; index < lines.length; index += SLICE_ROWS) {
    const rows = lines.slice(index, index + SLICE_ROWS);
    slices.push({ firstLine: index + 1, rows, csv: `code\n${rows.join("\n")}\n` });
  }
  return slices;
}

/**
 * Send the slices in order and add up their reports. A dry run of a slice cannot see the
 * codes of the slices before it, so a code repeated across slices is marked here, with
 * the words rewards uses within one file.
 */
async function sendSlices({ codeBankId, slices, dryRun, onProgress }) {
  const outcome = { accepted: 0, rejected: [], waitingRewardsServed: 0, codeBank: null, sentRows: 0, failure: null };
  const seen = new Set();
  for (const [index, slice] of slices.entries()) {
    const result = await graphql(UPLOAD_CODES, { input: { codeBankId, csv: slice.csv, dryRun } });
    const payload = result.data && result.data.uploadCodes;
    if (!payload || payload.errors.length) {
      outcome.failure = result;
      return outcome;
    }
    const rejectedLines = new Set(payload.report.rejected.map((row) => row.line));
    for (const row of payload.report.rejected) outcome.rejected.push({ ...row, line: slice.firstLine + row.line - 2 });
    let accepted = payload.report.accepted;
    if (dryRun) {
      slice.rows.forEach((row, offset) => {
        if (rejectedLines.has(offset + 2)) return;
        const code = row.split(",")[0].trim();
        if (!seen.has(code)) {
          seen.add(code);
          return;
        }
        accepted -= 1;
        outcome.rejected.push({ line: slice.firstLine + offset, code, error: "the code appears earlier in this file" });
      });
    }
    outcome.accepted += accepted;
    outcome.waitingRewardsServed += payload.report.waitingRewardsServed;
    outcome.codeBank = payload.codeBank;
    outcome.sentRows += slice.rows.length;
    onProgress((index + 1) / slices.length);
  }
  outcome.rejected.sort((a, b) => a.line - b.line);
  return outcome;
}

function renderPreview(container, report, fileName) {
  fill(container,
    h("h3", {}, `Preview of ${fileName}`),
    h("p", { class: "preview-summary" },
      `${report.accepted} code${report.accepted === 1 ? "" : "s"} will be imported. `,
      report.rejected.length
        ? `${report.rejected.length} row${report.rejected.length === 1 ? "" : "s"} will be left out (listed below).`
        : "No row has a problem.",
      " Nothing is imported yet."),
    report.rejected.length
      ? tableOf("Rows that will be left out", ["Line", "Code", "Problem"], report.rejected.map((row) => h("tr", { class: "rejected-row" },
        h("td", { class: "num" }, String(row.line)), h("td", {}, h("code", {}, row.code)), h("td", {}, row.error))))
      : null);
}

// ---------------------------------------------------------------- manual queues

export function queuesView(main) {
  const cards = h("section", { class: "card", "aria-labelledby": "gift-cards-heading", dataset: { title: "Gift cards to send" } }, h("p", { class: "loading" }, "Loading…"));
  const notes = h("section", { class: "card", "aria-labelledby": "notes-heading", dataset: { title: "Notes to write by hand" } }, h("p", { class: "loading" }, "Loading…"));
  fill(main, h("h1", {}, "Manual queues"),
    h("p", {}, "Thank-yous a person sends: gift cards bought by hand, and notes fans asked to get handwritten."),
    cards, notes);
  focusHeading(main);
  loadGiftCards(cards);
  loadNotes(notes);
}

async function loadGiftCards(section) {
  const result = await graphql(GIFT_CARDS);
  renderSection(section, result, "giftCardOrders", (orders) => {
    appendTo(section, h("h2", { id: "gift-cards-heading" }, "Gift cards to send"));
    if (!orders.length) {
      appendTo(section, h("p", {}, "Nothing to send."));
      return;
    }
    appendTo(section, h("ul", { class: "queue" }, orders.map((order) => {
      const label = `${money(order.amountCents, order.currency)} gift card ordered ${formatDate(order.createdAt)}`;
      const form = h("form", { class: "form inline-form", novalidate: true, "aria-label": `Fulfil the ${label}` },
        field("Card code", input("cardCode", { required: true, maxlength: 200, autocomplete: "off" }), "Sent to the fan as their gift card."),
        h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Mark fulfilled")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        clearErrors(form);
        const cardCode = formValues(form).cardCode.trim();
        if (!cardCode) {
          showErrors(form, [{ field: ["input", "cardCode"], message: "Type the code of the card you bought." }]);
          return;
        }
        await busy(form.querySelector("button[type=submit]"), async () => {
          const sent = await graphql(FULFIL, { input: { id: order.id, cardCode } });
          if (showTopLevelFailure(form, sent, "fulfilGiftCardOrder")) return;
          if (showErrors(form, sent.data.fulfilGiftCardOrder.errors)) return;
          announce(`The ${money(order.amountCents, order.currency)} gift card is marked fulfilled.`);
          await loadGiftCards(section);
          refocus(section);
        });
      });
      return h("li", { class: "queue-item", dataset: { orderId: order.id } },
        h("p", {}, h("strong", {}, money(order.amountCents, order.currency)), ` · ${order.reason} · ordered ${formatDate(order.createdAt)}`),
        form);
    })));
  });
}

async function loadNotes(section) {
  const result = await graphql(NOTES);
  renderSection(section, result, "handwrittenNotes", (items) => {
    appendTo(section, h("h2", { id: "notes-heading" }, "Notes to write by hand"));
    if (!items.length) {
      appendTo(section, h("p", {}, "No notes to write."));
      return;
    }
    appendTo(section, h("ul", { class: "queue" }, items.map((note) => {
      const who = note.displayName || "a fan who left";
      const form = h("form", { class: "inline", "aria-label": `Note for ${who}` },
        h("button", { type: "submit" }, h("span", {}, "Mark written"), h("span", { class: "visually-hidden" }, ` for ${who}`)));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        await busy(form.querySelector("button"), async () => {
          const done = await graphql(MARK_WRITTEN, { input: { id: note.id } });
          if (showTopLevelFailure(form, done, "markNoteWritten")) return;
          if (showErrors(form, done.data.markNoteWritten.errors)) return;
          announce(`The note for ${who} is marked written.`);
          await loadNotes(section);
          refocus(section);
        });
      });
      return h("li", { class: "queue-item", dataset: { noteId: note.id } },
        h("p", {}, h("strong", {}, `For ${who}`), ` · asked ${formatDate(note.createdAt)}`),
        h("blockquote", { class: "note" }, note.message),
        form);
    })));
  });
}
