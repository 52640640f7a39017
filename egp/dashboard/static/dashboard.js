// The dashboard's pages: draw the Plotly figures the server sends, and poll the JSON endpoints of running
// runs and jobs so their pages update without a reload.
"use strict";

const EGP = (() => {
  const POLL_MS = 2000;
  const config = { responsive: true, displaylogo: false };

  const number = (v, digits = 0) =>
    v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US", {
      minimumFractionDigits: digits, maximumFractionDigits: digits });
  const fitness = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(6));
  const duration = (s) => {
    if (s === null || s === undefined) return "–";
    for (const [limit, unit, size] of [[120, "s", 1], [7200, "min", 60], [172800, "h", 3600]]) {
      if (s < limit) return `${Math.round(s / size)} ${unit}`;
    }
    return `${Math.round(s / 86400)} d`;
  };
  const when = (t) => (t ? new Date(t).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–");
  const text = (tag, value, cls) => {
    const cell = document.createElement(tag);
    cell.textContent = value;
    if (cls) cell.className = cls;
    return cell;
  };

  function drawFigures(figures) {
    for (const [name, figure] of Object.entries(figures)) {
      const div = document.getElementById(`plot-${name}`);
      if (!div) continue;
      div.hidden = false;
      Plotly.react(div, figure.data, figure.layout, config);
    }
    const hint = document.getElementById("no-figures");
    if (hint && "stillborn" in figures) hint.hidden = true;
  }

  async function fetchJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  function updateSummary(run) {
    const fields = {
      problem: run.problem, status: run.status, best_fitness: fitness(run.best_fitness),
      evaluations: number(run.evaluations), evals_per_s: number(run.evals_per_s),
      generations: String(run.generations), updated: when(run.updated), reason: run.reason || "–",
    };
    for (const [field, value] of Object.entries(fields)) {
      const cell = document.querySelector(`#summary [data-field="${field}"]`);
      if (cell) cell.textContent = value;
    }
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  function watchRun(initial) {
    drawFigures(initial.figures);
    if (!initial.live) return;
    const timer = setInterval(async () => {
      let run;
      try {
        run = await fetchJson(`/api/runs/${encodeURIComponent(initial.id)}?points=0`);
      } catch (error) {
        return; // the next poll tries again; a page that polls must not die on one lost answer
      }
      updateSummary(run);
      drawFigures(run.figures);
      if (!run.live) {
        clearInterval(timer);
        location.reload(); // the ended run's best program and final figures, rendered by the server
      }
    }, POLL_MS);
  }

  function runRow(r) {
    const row = document.createElement("tr");
    row.className = `status-${r.status}`;
    row.dataset.id = r.id;
    const link = document.createElement("td");
    const a = document.createElement("a");
    a.href = `/runs/${encodeURIComponent(r.id)}`;
    a.appendChild(text("code", r.id.slice(0, 12)));
    link.appendChild(a);
    row.append(link, text("td", r.kind), text("td", r.status, "status"), text("td", r.problem ?? ""),
      text("td", fitness(r.best_fitness), "num"), text("td", number(r.evaluations), "num"),
      text("td", number(r.evals_per_s), "num"), text("td", String(r.generations), "num"),
      text("td", duration(r.age_s), "num"));
    return row;
  }

  function watchRuns() {
    setInterval(async () => {
      let data;
      try {
        data = await fetchJson("/api/runs");
      } catch (error) {
        return;
      }
      if (!data.runs.length) return;
      const body = document.querySelector("#runs tbody");
      body.replaceChildren(...data.runs.map(runRow));
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    }, POLL_MS);
  }

  return { drawFigures, watchRun, watchRuns };
})();
