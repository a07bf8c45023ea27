/* recsite: rate movies and say "not interested" without a page reload; the toast after either offers "Undo".
   Every form still works as a plain POST without this script. */
(function () {
  "use strict";

  var DEBOUNCE_MS = 400;
  var STATUS_MS = 6000;
  var ACTION_MS = 10000; // a toast with an Undo button stays longer, and while the pointer or focus is on it
  var timers = new WeakMap();
  var statusTimer = null;

  function clearStatusLater(box, ms) {
    clearTimeout(statusTimer);
    statusTimer = setTimeout(function () {
      if (box.matches(":hover") || box.contains(document.activeElement)) { clearStatusLater(box, STATUS_MS); return; }
      box.textContent = "";
    }, ms);
  }

  // action: {label, run} adds a button to the toast (run is called once, on click); returns that button.
  function announce(text, isError, action) {
    var box = document.querySelector("[data-live-status]");
    if (!box) return null;
    box.textContent = text;
    box.classList.toggle("is-error", !!isError);
    var button = null;
    if (action) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "toast-action";
      button.textContent = action.label;
      button.addEventListener("click", function () {
        button.disabled = true;
        action.run();
      }, { once: true });
      box.appendChild(document.createTextNode(" "));
      box.appendChild(button);
    }
    clearStatusLater(box, action ? ACTION_MS : STATUS_MS);
    return button;
  }

  // POST a FormData with fetch(); resolves to {ok, data} for a JSON answer, rejects otherwise.
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Requested-With": "fetch" },
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) throw new Error("not json");
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    });
  }

  function csrfBody(form, fields) {
    var body = new FormData();
    var token = form.querySelector('[name="csrfmiddlewaretoken"]');
    if (token) body.append("csrfmiddlewaretoken", token.value);
    Object.keys(fields || {}).forEach(function (name) { body.append(name, fields[name]); });
    return body;
  }

  function setFormState(form, score) {
    form.querySelectorAll('input[name="score"]').forEach(function (input) {
      input.checked = score !== null && Number(input.value) === score;
    });
    var current = form.querySelector("[data-rate-current]");
    if (current) current.textContent = score ? "You: " + score + "/" + form.dataset.scoreMax : "Not rated";
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
    if (data.recommendations_html === undefined) return;
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
    var undo = data.undo;
    announce(data.message, false, undo && {
      label: "Undo",
      run: function () {
        post(undo.url, csrfBody(form, { token: undo.token }))
          .then(function (result) {
            if (result.ok) applyResult(form, result.data);
            else announce(result.data.message || "Could not undo the rating.", true);
          })
          .catch(function () { announce("Could not undo the rating: check your connection.", true); });
      },
    });
  }

  function send(form, submitter) {
    form.classList.add("is-busy");
    post(form.action, new FormData(form, submitter || undefined))
      .then(function (result) {
        if (result.ok) applyResult(form, result.data);
        else announce(result.data.message || "Could not save the rating.", true);
      })
      .catch(function () {
        form.submit(); // network or server trouble: fall back to a normal form post
      })
      .finally(function () { form.classList.remove("is-busy"); });
  }

  // "Not interested" / "Show again": switch every control for the movie, drop (or bring back) its cards.
  function setHidden(movieId, hidden) {
    var selector = '[data-movie-id="' + movieId + '"]';
    document.querySelectorAll("[data-hide-form]" + selector).forEach(function (f) {
      f.hidden = (f.dataset.hideForm === "hide") === hidden;
    });
    document.querySelectorAll("[data-card][data-drop-hidden]" + selector).forEach(function (card) { card.hidden = hidden; });
    document.querySelectorAll("[data-hidden-row]" + selector).forEach(function (row) { row.hidden = !hidden; });
  }

  function visibleControl(movieId) {
    var forms = document.querySelectorAll('[data-hide-form][data-movie-id="' + movieId + '"]');
    for (var i = 0; i < forms.length; i++) {
      if (forms[i].offsetParent !== null) return forms[i].querySelector("button");
    }
    return null;
  }

  function applyHidden(form, data, offerUndo) {
    var focused = document.activeElement && document.activeElement.closest("[data-hide-form]");
    setHidden(data.movie_id, data.hidden);
    updateRecommendations(data);
    var undoButton = announce(data.message, false, offerUndo && {
      label: "Undo",
      run: function () {
        post(data.undo_url, csrfBody(form))
          .then(function (result) {
            if (!result.ok) { announce(result.data.message || "Could not undo.", true); return; }
            applyHidden(form, result.data, false);
            var back = visibleControl(data.movie_id);
            if (back) back.focus();
          })
          .catch(function () { announce("Could not undo: check your connection.", true); });
      },
    });
    // The button just pressed may have gone with its card: keep keyboard focus somewhere useful.
    if (focused && (focused.offsetParent === null || focused.hidden)) {
      var next = visibleControl(data.movie_id) || undoButton;
      if (next) next.focus();
    }
  }

  function sendHide(form, submitter) {
    form.classList.add("is-busy");
    post(form.action, new FormData(form, submitter || undefined))
      .then(function (result) {
        if (result.ok) applyHidden(form, result.data, true);
        else announce(result.data.message || "Could not change that.", true);
      })
      .catch(function () { form.submit(); })
      .finally(function () { form.classList.remove("is-busy"); });
  }

  document.addEventListener("submit", function (event) {
    if (!window.fetch) return;
    var hideForm = event.target.closest("[data-hide-form]");
    if (hideForm) {
      event.preventDefault();
      sendHide(hideForm, event.submitter);
      return;
    }
    var form = event.target.closest("[data-rate-form]");
    if (!form) return;
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

// The "personal suggestions are being trained" notice: poll its status and reload once the model is live. The
// sentence for each stage comes with the status (web/training_notice.py), the same words the page was rendered with.
(function () {
  "use strict";
  var POLL_MS = 5000;
  var notice = document.querySelector("[data-training-status]");
  if (!notice || !window.fetch) return;
  var detail = notice.querySelector("[data-training-detail]");
  var poll = function () {
    fetch(notice.getAttribute("data-training-status"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (!data.training) { window.location.reload(); return; }
        detail.textContent = data.detail;
        setTimeout(poll, POLL_MS);
      })
      .catch(function () { setTimeout(poll, POLL_MS * 2); });
  };
  setTimeout(poll, POLL_MS);
})();
