"""The learned half of judgement: language read by a linear model trained on
labeled notes. The logic (who acted, recency, exemption) stays in the engine."""
