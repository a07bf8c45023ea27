"""train_model, evaluate_model, batch_recommend, sync_vectors."""
