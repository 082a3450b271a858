/**
 * The status page: one HTML document with inline CSS and JS, no build
 * step. It holds no data itself; the script asks for the admin token (a
 * form, or `?token=` in the address, which it then removes from the
 * address bar), keeps it in sessionStorage, and calls the JSON API with it.
 * Everything shown is set through textContent, never as HTML.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stevedore</title>
<style>
  :root { --fg: #1d232a; --muted: #5f6b7a; --line: #d8dee6; --accent: #1f6feb; --bad: #c62828; --ok: #2e7d32; --bg: #f6f8fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; align-items: center; gap: 1rem; padding: .75rem 1.25rem; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 1.1rem; margin: 0; }
  header .grow { flex: 1; }
  main { padding: 1rem 1.25rem; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: .3rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { color: var(--muted); font-weight: 600; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.pick { cursor: pointer; }
  tr.pick:hover, tr.selected { background: #eef4ff; }
  code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
  .muted { color: var(--muted); }
  .error { color: var(--bad); }
  .state-succeeded { color: var(--ok); }
  .state-failed, .state-cancelled { color: var(--bad); }
  .bar { height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; min-width: 120px; }
  .bar > div { height: 100%; background: var(--accent); width: 0; transition: width .3s; }
  form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
  input[type=text], input[type=password] { padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 4px; font: inherit; min-width: 14rem; }
  input.wide { flex: 1; }
  button { padding: .35rem .8rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; font: inherit; cursor: pointer; }
  button.plain { background: #fff; color: var(--accent); }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
  dt { color: var(--muted); }
  dd { margin: 0; font-variant-numeric: tabular-nums; }
  #login { max-width: 32rem; margin: 4rem auto; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<header>
  <h1>stevedore</h1>
  <span class="muted" id="status-line"></span>
  <span class="grow"></span>
  <button class="plain" id="logout" hidden>Forget token</button>
</header>

<section id="login" hidden>
  <h2>Admin token</h2>
  <p class="muted">The content of the file given to <code>--admin-token-file</code>. It is kept in this tab only.</p>
  <form id="login-form">
    <input type="password" id="token" name="token" autocomplete="off" placeholder="token" required>
    <button type="submit">Open</button>
  </form>
  <p class="error" id="login-error"></p>
</section>

<main id="dashboard" hidden>
  <section>
    <h2>Usage</h2>
    <dl id="usage"></dl>
  </section>

  <section>
    <h2>Import</h2>
    <p class="muted">A bundle, an OCI layout or a transport string, as a path on this node.</p>
    <form id="sync-form">
      <input type="text" class="wide" id="sync-source" name="source" placeholder="/media/app-7.1.tar" required>
      <input type="text" id="sync-prefix" name="prefix" placeholder="prefix (optional)">
      <button type="submit" id="sync-start">Start sync</button>
    </form>
    <p class="error" id="sync-error"></p>
  </section>

  <section class="wide">
    <h2>Jobs</h2>
    <table>
      <thead><tr><th>Kind</th><th>Source</th><th>State</th><th>Progress</th><th class="num">Images</th><th class="num">Bytes</th><th>Started</th><th></th></tr></thead>
      <tbody id="jobs"></tbody>
    </table>
    <p class="muted" id="jobs-empty">No jobs yet.</p>
  </section>

  <section>
    <h2>Repositories</h2>
    <table>
      <thead><tr><th>Name</th><th class="num">Tags</th><th class="num">Size</th><th>Last push</th></tr></thead>
      <tbody id="repositories"></tbody>
    </table>
    <p class="muted" id="repositories-empty">The store is empty.</p>
  </section>

  <section>
    <h2>Tags <span class="muted" id="tags-of"></span></h2>
    <table>
      <thead><tr><th>Tag</th><th>Digest</th><th>Platforms</th><th class="num">Size</th><th>Pushed</th><th>Last pulled</th></tr></thead>
      <tbody id="tags"></tbody>
    </table>
    <p class="muted" id="tags-empty">Pick a repository.</p>
  </section>
</main>

<script>
"use strict";
(function () {
  const KEY = "stevedore-admin-token";
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(KEY);
  let selected = null;
  let timer = null;
  let lastActive = 0;

  // ?token= works once, then leaves the address bar (and the history).
  const params = new URLSearchParams(location.search);
  if (params.has("token")) {
    token = params.get("token");
    sessionStorage.setItem(KEY, token);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
  }

  function bytes(n) {
    if (n < 1024) return n + " B";
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let v = n, i = -1;
    do { v /= 1024; i++; } while (v >= 1024 && i < units.length - 1);
    return v.toFixed(v < 10 ? 1 : 0) + " " + units[i];
  }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : "—"; }
  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  async function api(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: Object.assign({ Authorization: "Bearer " + token }, body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
      cache: "no-store",
    });
    const data = await res.json().catch(() => ({}));
    if (res.status === 401) { logout("The token was refused."); throw new Error("unauthorized"); }
    if (!res.ok) throw new Error((data.error && data.error.message) || res.status + " " + res.statusText);
    return data;
  }

  function logout(message) {
    sessionStorage.removeItem(KEY);
    token = null;
    clearTimeout(timer);
    $("dashboard").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
  }

  function showUsage(u) {
    const dl = $("usage");
    dl.replaceChildren();
    const add = (k, v, id) => {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v; if (id) dd.dataset.testid = id;
      dl.append(dt, dd);
    };
    add("Stored", bytes(u.blobs.bytes) + " in " + u.blobs.count + " blobs", "usage-stored");
    add("Without de-duplication", bytes(u.logicalBytes));
    add("Shared between repositories", bytes(u.shared.bytes) + " in " + u.shared.count + " blobs");
    add("Unreferenced (gc)", bytes(u.unreferenced.bytes) + " in " + u.unreferenced.count + " blobs");
    add("Manifests", u.manifests.count + " (" + bytes(u.manifests.bytes) + ")");
  }

  function showRepositories(list) {
    const body = $("repositories");
    body.replaceChildren();
    for (const r of list) {
      const tr = document.createElement("tr");
      tr.className = "pick" + (r.name === selected ? " selected" : "");
      tr.dataset.repository = r.name;
      cell(tr, r.name);
      cell(tr, String(r.tags), "num");
      cell(tr, bytes(r.size), "num");
      cell(tr, when(r.lastPush));
      tr.addEventListener("click", () => { selected = r.name; loadTags(); showRepositories(list); });
      body.appendChild(tr);
    }
    $("repositories-empty").hidden = list.length > 0;
  }

  async function loadTags() {
    if (!selected) return;
    const data = await api("GET", "/api/v1/repositories/" + selected + "/tags");
    $("tags-of").textContent = selected;
    const body = $("tags");
    body.replaceChildren();
    for (const t of data.tags) {
      const tr = document.createElement("tr");
      tr.dataset.tag = t.tag;
      cell(tr, t.tag);
      const d = cell(tr, "");
      const code = document.createElement("code");
      code.textContent = t.digest.slice(0, 19) + "…";
      code.title = t.digest;
      d.appendChild(code);
      cell(tr, t.platforms ? t.platforms.join(", ") : "—");
      cell(tr, bytes(t.size), "num");
      cell(tr, when(t.pushed));
      cell(tr, when(t.lastPulled));
      body.appendChild(tr);
    }
    $("tags-empty").hidden = data.tags.length > 0;
  }

  function showJobs(jobs) {
    const body = $("jobs");
    body.replaceChildren();
    for (const j of jobs) {
      const tr = document.createElement("tr");
      tr.dataset.job = j.id;
      tr.dataset.state = j.state;
      cell(tr, j.kind);
      cell(tr, j.kind === "sync" ? j.request.source : (j.request.dryRun ? "dry run" : "collect"));
      const state = cell(tr, j.state + (j.cancelRequested ? " (cancelling)" : ""), "state state-" + j.state);
      if (j.error) state.title = j.error;
      const p = j.progress;
      const pct = p.bytes.total > 0 ? Math.min(100, (100 * p.bytes.done) / p.bytes.total)
        : p.images.total > 0 ? (100 * p.images.done) / p.images.total
        : j.state === "succeeded" ? 100 : 0;
      const barCell = cell(tr, "");
      const bar = document.createElement("div"); bar.className = "bar";
      const fill = document.createElement("div"); fill.style.width = pct.toFixed(1) + "%";
      bar.appendChild(fill); barCell.appendChild(bar);
      if (j.error) { const e = document.createElement("div"); e.className = "error"; e.textContent = j.error; barCell.appendChild(e); }
      cell(tr, p.images.done + " / " + p.images.total, "num images");
      cell(tr, bytes(p.bytes.done) + " / " + bytes(p.bytes.total), "num");
      cell(tr, when(j.startedAt));
      const actions = cell(tr, "");
      if (j.state === "queued" || j.state === "running") {
        const b = document.createElement("button");
        b.className = "plain"; b.textContent = "Cancel";
        b.addEventListener("click", () => api("DELETE", "/api/v1/jobs/" + j.id).then(refresh).catch(() => {}));
        actions.appendChild(b);
      }
      body.appendChild(tr);
    }
    $("jobs-empty").hidden = jobs.length > 0;
  }

  async function refresh() {
    clearTimeout(timer);
    if (!token) return;
    try {
      const [usage, repos, jobs] = await Promise.all([
        api("GET", "/api/v1/usage"),
        api("GET", "/api/v1/repositories"),
        api("GET", "/api/v1/jobs"),
      ]);
      showUsage(usage);
      showRepositories(repos.repositories);
      showJobs(jobs.jobs);
      const active = jobs.jobs.filter((j) => j.state === "queued" || j.state === "running").length;
      if (selected && active !== lastActive) await loadTags();
      lastActive = active;
      $("status-line").textContent = "updated " + new Date().toLocaleTimeString();
      $("login").hidden = true;
      $("dashboard").hidden = false;
      $("logout").hidden = false;
      // Poll fast while something runs.
      timer = setTimeout(refresh, active > 0 ? 750 : 5000);
    } catch (error) {
      if (!token) return;
      $("status-line").textContent = "error: " + error.message;
      timer = setTimeout(refresh, 5000);
    }
  }

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem(KEY, token);
    $("token").value = "";
    refresh();
  });
  $("logout").addEventListener("click", () => logout(""));
  $("sync-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("sync-error").textContent = "";
    const body = { source: $("sync-source").value.trim() };
    const prefix = $("sync-prefix").value.trim();
    if (prefix) body.prefix = prefix;
    try {
      await api("POST", "/api/v1/sync", body);
      $("sync-source").value = "";
      refresh();
    } catch (error) {
      $("sync-error").textContent = error.message;
    }
  });

  if (token) refresh(); else logout("");
})();
</script>
</body>
</html>
`;
