
"use strict";
(() => {
const data = JSON.parse(document.getElementById("data").textContent);
const VERDICTS = ["", "PASS", "NOT_EVALUATED", "FAIL"]; // index = verdict code
const CLASSES = ["none", "pass", "ne", "fail"];
const LABELS = ["", "new", "still failing", "resolved"]; // index = baseline code
const PAGE = 200;
const width = data.columns.length;
const form = document.getElementById("filters");
const head = document.querySelector("#matrix thead");
const body = document.querySelector("#matrix tbody");
const more = document.getElementById("more");
const shown = document.getElementById("shown");
const text = (i) => data.strings[i];

// Details are sorted by cell: each cell's are one slice.
const slices = new Map();
data.details.forEach((d, i) => {
  const slice = slices.get(d[0]);
  if (slice) slice[1] = i + 1; else slices.set(d[0], [i, i + 1]);
});
const detailsOf = (cell, control) => {
  const slice = slices.get(cell);
  const all = slice ? data.details.slice(slice[0], slice[1]) : [];
  return control < 0 ? all : all.filter((d) => d[1] === control);
};

let filter = {};
let rows = [];
let rendered = 0;

// The verdict a cell shows: the worst of its controls, or that of the chosen control.
function verdict(cell) {
  const set = data.cells[cell];
  if (set === 0 || (filter.control >= 0 && !data.sets[set - 1].includes(filter.control))) return 0;
  return detailsOf(cell, filter.control).reduce((worst, d) => Math.max(worst, d[2]), 1);
}

function matches(cell) {
  const v = verdict(cell);
  return v !== 0 && (!filter.status || v === filter.status)
    && (!filter.label || detailsOf(cell, filter.control).some((d) => d[6] === filter.label));
}

function describe(d) {
  const facts = [];
  if (d[3]) facts.push("expected " + text(d[3]));
  if (d[4]) facts.push("found " + text(d[4]));
  if (d[5]) facts.push(text(d[5]));
  const label = d[6] ? " [" + LABELS[d[6]] + "]" : "";
  return data.controls[d[1]] + " " + VERDICTS[d[2]] + label + (facts.length ? ": " + facts.join(", ") : "");
}

function element(tag, className, content) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (content !== undefined) e.textContent = content;
  return e;
}

function row(account) {
  const tr = element("tr", "acct");
  tr.dataset.account = data.accounts[account];
  tr.dataset.index = account;
  tr.append(element("th", "", data.accounts[account] + (data.names[account] ? " " + data.names[account] : "")));
  for (let column = 0; column < width; column++) {
    const cell = account * width + column;
    const v = verdict(cell);
    const details = detailsOf(cell, filter.control);
    const failing = details.filter((d) => d[2] > 1);
    const td = element("td", "c " + CLASSES[v] + (matches(cell) ? "" : " dim"));
    td.dataset.region = data.columns[column];
    td.dataset.status = VERDICTS[v] || "NONE";
    td.textContent = v === 0 ? "-" : v === 1 ? "PASS" : (v === 3 ? "FAIL" : "N/E") + (failing.length > 1 ? " \u00d7" + failing.length : "");
    if (details.some((d) => d[6] === 1)) td.append(element("span", "badge", "new"));
    td.title = [data.accounts[account] + " " + data.columns[column]].concat(details.map(describe)).join("\n");
    tr.append(td);
  }
  return tr;
}

function renderMore() {
  const end = Math.min(rows.length, rendered + PAGE);
  const fragment = document.createDocumentFragment();
  for (; rendered < end; rendered++) fragment.append(row(rows[rendered]));
  body.append(fragment);
  shown.textContent = "Showing " + rendered + " of " + rows.length + " accounts"
    + (rows.length < data.accounts.length ? " (" + data.accounts.length + " before filtering)" : "") + ".";
  more.hidden = rendered >= rows.length;
  more.textContent = "Show " + Math.min(PAGE, rows.length - rendered) + " more";
}

function apply() {
  const f = form.elements;
  filter = {
    status: VERDICTS.indexOf(f.status.value),
    control: data.controls.indexOf(f.control.value),
    label: LABELS.indexOf(f.baseline.value),
    account: f.account.value.trim(),
  };
  rows = [];
  data.accounts.forEach((id, account) => {
    if (filter.account && !id.includes(filter.account) && !data.names[account].includes(filter.account)) return;
    for (let column = 0; column < width; column++) {
      if (matches(account * width + column)) { rows.push(account); return; }
    }
  });
  body.textContent = "";
  rendered = 0;
  renderMore();
  document.querySelectorAll("#controls tbody tr").forEach((tr) => tr.classList.toggle("chosen", tr.dataset.control === f.control.value));
  const state = new URLSearchParams();
  for (const name of ["status", "control", "baseline", "account"]) if (f[name].value) state.set(name, f[name].value);
  const hash = state.toString();
  if (hash !== location.hash.slice(1)) history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
}

function toggleDetail(td) {
  const tr = td.parentElement;
  const open = tr.nextElementSibling;
  const column = td.cellIndex - 1;
  const wasOpen = open && open.classList.contains("detail") ? open.dataset.column : null;
  if (wasOpen !== null) open.remove();
  if (wasOpen === String(column)) return;
  const account = Number(tr.dataset.index);
  const cell = account * width + column;
  const details = detailsOf(cell, filter.control);
  const passing = data.cells[cell] === 0 ? 0 : data.sets[data.cells[cell] - 1].length - details.filter((d) => d[2] > 1).length;
  const detail = element("tr", "detail");
  detail.dataset.column = column;
  const content = element("td");
  content.colSpan = width + 1;
  content.append(element("strong", "", data.accounts[account] + " " + data.columns[column]));
  const list = element("ul");
  for (const d of details) {
    const li = element("li", "", describe(d) + " ");
    li.append(element("code", "", d[7]));
    list.append(li);
  }
  if (filter.control < 0) list.append(element("li", "", passing + " controls PASS" + (details.length ? "" : ": every control judged here")));
  content.append(list);
  detail.append(content);
  tr.after(detail);
}

const headRow = element("tr");
headRow.append(element("th", "", "account"));
for (const column of data.columns) {
  const th = element("th", "", column);
  if (column === "global") th.title = "account-level controls (IAM): no region";
  headRow.append(th);
}
head.append(headRow);
for (const id of data.controls) form.elements.control.append(new Option(id, id));
if (data.details.some((d) => d[6] !== 0)) document.getElementById("baseline-filter").hidden = false;
const initial = new URLSearchParams(location.hash.slice(1));
for (const name of ["status", "control", "baseline", "account"]) if (initial.has(name)) form.elements[name].value = initial.get(name);

form.addEventListener("input", apply);
more.addEventListener("click", renderMore);
body.addEventListener("click", (event) => {
  const td = event.target.closest("td.c");
  if (td) toggleDetail(td);
});
document.getElementById("controls").addEventListener("click", (event) => {
  const tr = event.target.closest("tbody tr");
  if (!tr) return;
  form.elements.control.value = form.elements.control.value === tr.dataset.control ? "" : tr.dataset.control;
  apply();
  document.getElementById("matrix-section").scrollIntoView();
});
apply();
// When the first page is on screen, measured from the start of navigation: the load time
// the report states for large organizations comes from here.
document.body.dataset.firstRenderMs = performance.now().toFixed(1);
})();
