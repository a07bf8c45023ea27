"""The training notice's sentence for each pipeline stage (recommender.models.Stage), in one place: the page renders
it (templates/movies/_training_notice.html) and the notice's poll gets it in its JSON (static/js/site.js shows it
as it is), so neither the template nor the script knows the stage words."""

from recommender.models import Stage


def minutes(seconds) -> str:
    """90 -> "about 2 min"; under a minute -> "less than a minute"."""
    if seconds in (None, ""):
        return ""
    return "less than a minute" if float(seconds) < 60 else f"about {round(float(seconds) / 60)} min"


def training_detail(notice: dict) -> str:
    """What the build of the first model is doing now, for recommender.selectors.training_notice()'s dict."""
    stage, epoch = notice.get("stage"), notice.get("epoch")
    if stage == Stage.QUEUED:
        return "Waiting for the training worker to start."
    if stage == Stage.TRAINING and not epoch:
        return "Preparing the ratings for training."
    if stage == Stage.TRAINING:
        elapsed = notice.get("elapsed_s")
        so_far = f", {minutes(elapsed)} so far" if elapsed else ""
        return f"Learning from the ratings: epoch {epoch} (it stops early; at most {notice.get('epochs')}){so_far}."
    if stage == Stage.EVALUATING:
        return "Measuring it against the classical baselines."
    if stage == Stage.RANKING:
        return "Training the second stage that re-orders each person's candidates."
    if stage == Stage.REFITTING:
        eta = notice.get("eta_s")
        return f"Final fit on every rating: {notice.get('percent')} %" + (f", {minutes(eta)} left." if eta else ".")
    if stage == Stage.INDEXING:
        return "Writing the movie vectors to Milvus: almost there."
    return f"{str(stage)[:1].upper()}{str(stage)[1:]}."  # capfirst, as the template had it
