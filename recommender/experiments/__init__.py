"""A/B experiments between the active model version and a complete candidate (issue #25, item 4).

- models.py: Experiment (control, candidate, share, status, start and end): all the state, in the database.
- split.py: the stable split of users into arms (sha256 of experiment id and user id; pure).
- stats.py: Newcombe's hybrid Wilson interval for a difference of two proportions (pure).
- services.py: start / stop / promote (promote goes through model_version_activate_checked), and
  ``candidate_for(user_id)``: the version a signed-in user with ratings is served (recommender.serving.live_model).
- selectors.py: the arms' figures (users, impressions, ratings after shown, conversion with intervals).
- admin.py: the admin page (start with the add form; stop / promote actions).

Retraining during an experiment is allowed: the control arm is whatever version is live (a newly activated one
too), the candidate keeps its Milvus collection (collections_retire protects it) until the experiment ends.
"""
