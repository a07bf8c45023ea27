// Live training progress on the model-version admin pages: polls the staff-only JSON every 2 s.
(function () {
  "use strict";
  const box = document.getElementById("training-progress");
  if (!box) return;
  const field = (name) => box.querySelector('[data-field="' + name + '"]');
  const set = (name, value) => { const el = field(name); if (el) el.textContent = value; };
  // whole seconds first, then minutes: 659.7 s is "11 min 0 s", never "10 min 60 s"
  const secs = (s) => {
    if (s == null) return "–";
    const t = Math.round(s);
    return t >= 60 ? Math.floor(t / 60) + " min " + (t % 60) + " s" : t + " s";
  };
  const num = (x) => (x == null ? "–" : Number(x).toFixed(4));
  let wasRunning = box.dataset.running === "1";
  let lastStatus = box.dataset.status;

  function render(data) {
    const v = data.version;
    const running = data.training_running;
    document.querySelectorAll("[data-disable-while-training]").forEach((b) => { if (running) b.disabled = true; });
    if (v) {
      // the page heading of this version (if it is the one shown) says what the worker is doing now
      document.querySelectorAll('[data-version-label="' + v.id + '"]').forEach((el) => { el.textContent = v.label; });
    }
    if (v && v.running) {
      const p = v.progress || {};
      box.hidden = false;
      set("number", v.number);
      set("label", v.label);
      set("loss", num(p.loss));
      set("val", num(p["val_ndcg@10"]));
      set("elapsed", secs(p.elapsed_s));
      set("eta", secs(p.eta_s));
      const bar = field("bar");
      if (bar && p.epochs) bar.value = (p.epoch || 0) / p.epochs;
      const img = document.getElementById("curve-png");
      if (img && p.epoch && img.dataset.epoch !== String(p.epoch)) {
        img.dataset.epoch = String(p.epoch);
        img.src = img.src.split("?")[0] + "?epoch=" + p.epoch;
      }
    }
    // A run ended (done, refused by the gate, or failed): reload once to show metrics, error and buttons.
    const status = v ? v.status : "";
    if ((wasRunning && !running) || (lastStatus && status && status !== lastStatus && !(v && v.running))) {
      window.location.reload();
      return;
    }
    wasRunning = running;
    lastStatus = status || lastStatus;
  }

  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => { if (data) render(data); })
      .catch(() => {})
      .finally(() => setTimeout(poll, 2000));
  }
  poll();
})();
