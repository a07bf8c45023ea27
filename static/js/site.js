/* recsite: rate movies without a page reload. Every form still works as a plain POST without this script. */
(function () {
  "use strict";

  var DEBOUNCE_MS = 400;
  var STATUS_MS = 6000;
  var timers = new WeakMap();
  var statusTimer = null;

  function announce(text, isError) {
    var box = document.querySelector("[data-live-status]");
    if (!box) return;
    box.textContent = text;
    box.classList.toggle("is-error", !!isError);
    clearTimeout(statusTimer);
    statusTimer = setTimeout(function () { box.textContent = ""; }, STATUS_MS);
  }

  function setFormState(form, score) {
    form.querySelectorAll('input[name="score"]').forEach(function (input) {
      input.checked = score !== null && Number(input.value) === score;
    });
    var current = form.querySelector("[data-rate-current]");
    if (current) current.textContent = score ? "You: " + score + "/5" : "Not rated";
    var remove = form.querySelector("[data-remove]");
    if (remove) remove.hidden = !score;
  }

  function updateOnboarding(count) {
    var box = document.querySelector("[data-onboarding]");
    if (!box) return;
    var goal = Number(box.dataset.goal);
    box.querySelectorAll("[data-rating-count]").forEach(function (el) { el.textContent = count; });
    var bar = box.querySelector("[data-progress]");
    if (bar) bar.value = Math.min(count, goal);
    var done = box.querySelector("[data-onboarding-done]");
    if (done) done.hidden = count < goal;
  }

  function updateRecommendations(data) {
    document.querySelectorAll("[data-recs]").forEach(function (container) {
      var section = container.closest("[data-recs-section]");
      if (section && data.user_rating_count < Number(section.dataset.min || 0)) return;
      container.innerHTML = data.recommendations_html;
      if (section) section.hidden = false;
    });
  }

  function applyResult(form, data) {
    // The same movie can appear in several rows: keep every form for it in step.
    document.querySelectorAll('[data-rate-form][data-movie-id="' + data.movie_id + '"]').forEach(function (f) {
      setFormState(f, data.score);
    });
    updateOnboarding(data.user_rating_count);
    updateRecommendations(data);
    announce(data.message, false);
  }

  function send(form, submitter) {
    var body = new FormData(form, submitter || undefined);
    form.classList.add("is-busy");
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) throw new Error("not json");
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (result) {
        if (result.ok) applyResult(form, result.data);
        else announce(result.data.message || "Could not save the rating.", true);
      })
      .catch(function () {
        form.submit(); // network or server trouble: fall back to a normal form post
      })
      .finally(function () { form.classList.remove("is-busy"); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-rate-form]");
    if (!form || !window.fetch) return;
    event.preventDefault();
    send(form, event.submitter);
  });

  // Picking a star saves it (debounced, so arrow keys moving through the stars send one request).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.name !== "score") return;
    var form = input.closest("[data-rate-form]");
    if (!form || !window.fetch) return;
    clearTimeout(timers.get(form));
    timers.set(form, setTimeout(function () { send(form, null); }, DEBOUNCE_MS));
  });
})();

// Filter checkboxes ("hide movies I rated") apply at once; without this script the Apply button does it.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!input.matches || !input.matches("[data-autosubmit]") || !input.form) return;
  if (input.form.requestSubmit) input.form.requestSubmit();
  else input.form.submit();
});

// The "personal suggestions are being trained" notice: poll its status and reload once the model is live.
(function () {
  "use strict";
  var POLL_MS = 5000;
  var notice = document.querySelector("[data-training-status]");
  if (!notice || !window.fetch) return;
  var detail = notice.querySelector("[data-training-detail]");
  var minutes = function (s) { return s < 60 ? "less than a minute" : "about " + Math.round(s / 60) + " min"; };
  var describe = function (d) {
    if (d.stage === "queued") return "Waiting for the training worker to start.";
    if (d.stage === "training" && !d.epoch) return "Preparing the ratings for training.";
    if (d.stage === "training") {
      return "Learning from the ratings: epoch " + d.epoch + " (it stops early; at most " + d.epochs + ")" +
        (d.elapsed_s ? ", " + minutes(d.elapsed_s) + " so far." : ".");
    }
    if (d.stage === "evaluating") return "Measuring it against the classical baselines.";
    if (d.stage === "refitting") {
      return "Final fit on every rating: " + d.percent + " %" + (d.eta_s ? ", " + minutes(d.eta_s) + " left." : ".");
    }
    if (d.stage === "indexing") return "Writing the movie vectors to Milvus: almost there.";
    return d.stage + ".";
  };
  var poll = function () {
    fetch(notice.getAttribute("data-training-status"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (!data.training) { window.location.reload(); return; }
        detail.textContent = describe(data);
        setTimeout(poll, POLL_MS);
      })
      .catch(function () { setTimeout(poll, POLL_MS * 2); });
  };
  setTimeout(poll, POLL_MS);
})();
