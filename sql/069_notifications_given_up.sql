-- 069_notifications_given_up: what the admins' notifications API needs
-- (docs/API.md §11 "Notifications given up"; src/domain/notifications.c).
--
-- A row made pending again (an admin's retry of a failed or skipped
-- notification) wakes `support-dispatch --loop` as a new row does
-- (sql/015's support_outbox_notify): it is due now, not at the next
-- sweep. Only that change: the dispatcher's own outcomes leave pending.
CREATE TRIGGER support_outbox_notify_pending AFTER UPDATE OF status ON support_outbox
    FOR EACH ROW WHEN (NEW.status = 'pending' AND OLD.status <> 'pending')
    EXECUTE FUNCTION support_outbox_notify();

-- The admins' list of skipped notifications, newest first (failed rows
-- have sql/018's support_outbox_failed): few rows among many sent ones.
CREATE INDEX support_outbox_skipped ON support_outbox (id)
    WHERE status = 'skipped' AND kind = 'notification';
