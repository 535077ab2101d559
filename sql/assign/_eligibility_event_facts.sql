-- purpose: what one eligibility event tells about a contact at the evaluation time p_at:
--          last_grant / last_revoke, its time when it is a covering grant / revoke at or
--          before p_at; later_grant, a covering grant after p_at; other_sender_grant, a
--          matching grant at or before p_at for another sender; last_stop, its time when it
--          is a 131050 failure on the experiment's channel covering its sender, at or before
--          p_at; recent_feedback, feedback within the p_feedback_days days up to p_at
--          (inclusive; never when p_feedback_days is 0). A contact's facts combine its
--          events' (sql/assign/_eligibility_contact_facts.sql); a contact with one event has
--          that event's facts.
-- grain:   a fragment of a select list: six columns for one event row.
-- reads:   columns kind, channel, ts, matches and covers (sql/assign/_eligibility_event_match.sql)
--          of an event row; p_at, p_channel, p_feedback_days.
-- params:  none bound: p_* as in sql/assign/_eligibility_event_match.sql ($at TIMESTAMP,
--          $channel VARCHAR, $feedback_days INTEGER).
CASE WHEN kind = 'granted' AND matches AND covers AND ts <= p_at THEN ts END AS last_grant,
CASE WHEN kind = 'revoked' AND matches AND covers AND ts <= p_at THEN ts END AS last_revoke,
kind = 'granted' AND matches AND covers AND ts > p_at AS later_grant,
kind = 'granted' AND matches AND NOT covers AND ts <= p_at AS other_sender_grant,
CASE WHEN kind = 'stop' AND channel = CAST(p_channel AS VARCHAR) AND covers AND ts <= p_at
     THEN ts END AS last_stop,
kind = 'feedback' AND CAST(p_feedback_days AS INTEGER) > 0 AND ts <= p_at
    AND ts >= p_at - to_days(CAST(p_feedback_days AS INTEGER)) AS recent_feedback
