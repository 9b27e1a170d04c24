-- Each epoch's evaluation on the test set (confusion matrix, per-class metrics, most confident
-- mistakes), gathered during the epoch's test pass. Null for epochs recorded before this column.
ALTER TABLE "epoch_metrics" ADD COLUMN "evaluation" JSONB;
