--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: carenav_ack_brief(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_ack_brief() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_actor_name(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_actor_name(p_actor text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_alert_titles(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_alert_titles() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_api_audit(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_audit(p_limit integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_api_callback_done(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_callback_done(p_id bigint, p_operator text) RETURNS text
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_callbacks(text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_callbacks(p_status text, p_limit integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_conversation(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_conversation(p_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_conversations(text, text, integer, bigint, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_conversations(p_status text, p_q text, p_limit integer, p_after_us bigint, p_after_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_escalation_ack(bigint, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_ack(p_id bigint, p_operator text, p_provider text, p_texts jsonb) RETURNS text
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_escalation_close(bigint, text, text, text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_close(p_id bigint, p_operator text, p_note text, p_outcome text, p_tries integer) RETURNS text
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_escalation_doc(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_doc(p_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_escalation_doc(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_doc(p_id bigint, p_lang text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_escalation_list(text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_list(p_state text, p_limit integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_escalation_list(text, integer, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_list(p_state text, p_limit integer, p_lang text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_escalation_resolve(bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_resolve(p_id bigint, p_operator text, p_note text) RETURNS text
    LANGUAGE sql
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_escalations(boolean, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalations(p_open_only boolean, p_limit integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_export(text, timestamp with time zone, timestamp with time zone, boolean, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_export(p_kind text, p_from timestamp with time zone, p_to timestamp with time zone, p_full boolean, p_limit integer) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_handoff(bigint, text, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_handoff(p_conversation_id bigint, p_operator text, p_active boolean) RETURNS text
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_operator_disable(bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_operator_disable(p_id bigint, p_by text, p_client_addr text) RETURNS text
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_api_operators(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_operators() RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_api_overview(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_overview(p_days integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_send(bigint, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_send(p_conversation_id bigint, p_operator text, p_provider text, p_body text) RETURNS jsonb
    LANGUAGE sql
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_api_send(bigint, text, text, text, smallint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_send(p_conversation_id bigint, p_operator text, p_provider text, p_body text, p_segments smallint, p_encoding text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_audit(text, text, bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_audit(p_operator text, p_action text, p_conversation_id bigint, p_detail text, p_client_addr text) RETURNS void
    LANGUAGE sql
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_console_language_known(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_console_language_known(p_lang text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_console_reason_text(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_console_reason_text(p_text text, p_lang text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_csv(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_csv(p text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_delivery_report(text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_delivery_report(p_provider text, p_sid text, p_status text, p_error_code text) RETURNS boolean
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_emergency_undelivered(bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_emergency_undelivered(p_escalation_id bigint, p_error text, p_provider text) RETURNS void
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_epoch_us(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_epoch_us(p_at timestamp with time zone) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_escalation_ack(bigint, text, bigint, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_ack(p_escalation_id bigint, p_actor text, p_staff_id bigint, p_provider text, p_texts jsonb) RETURNS boolean
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_escalation_advance(bigint, integer, jsonb, jsonb, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_advance(p_escalation_id bigint, p_expected_step integer, p_alerts jsonb, p_template jsonb, p_next_due_ms bigint, p_provider text) RETURNS jsonb
    LANGUAGE sql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_escalation_advance_group(jsonb, jsonb, bigint, text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_advance_group(p_items jsonb, p_template jsonb, p_next_due_ms bigint, p_provider text, p_hold_ms bigint) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_escalation_alert_paged(bigint, text, text, jsonb, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_alert_paged(p_escalation_id bigint, p_service_number text, p_provider text, p_texts jsonb, p_vars jsonb) RETURNS SETOF bigint
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_escalation_cancel_pages(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_cancel_pages() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_escalation_code(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_code() RETURNS text
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_escalation_doc_in(jsonb, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_doc_in(p_doc jsonb, p_lang text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_escalation_due(integer, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_due(p_limit integer, p_default_flow text) RETURNS TABLE(escalation_id bigint, code text, step integer, latest_flow_version_id bigint)
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_escalation_due(integer, text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_due(p_limit integer, p_default_flow text, p_early_ms bigint) RETURNS TABLE(escalation_id bigint, code text, step integer, latest_flow_version_id bigint)
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_escalation_event(bigint, text, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_event(p_escalation_id bigint, p_event text, p_staff_id bigint, p_detail text) RETURNS void
    LANGUAGE sql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_escalation_summary(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_summary(p_escalation_id bigint, p_lang text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_escalation_update(bigint, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_update(p_escalation_id bigint, p_reason text, p_matched text, p_provider text) RETURNS void
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_fallback_staff(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_fallback_staff(p_phone text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_inbound_accept(text, text, text, text, text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_inbound_accept(p_provider text, p_sid text, p_from text, p_to text, p_body text, p_num_media integer) RETURNS TABLE(message_id bigint, conversation_id bigint, is_new boolean)
    LANGUAGE sql
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_inbound_accept(text, text, text, text, text, integer, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_inbound_accept(p_provider text, p_sid text, p_from text, p_to text, p_body text, p_num_media integer, p_opt_out_type text) RETURNS TABLE(message_id bigint, conversation_id bigint, is_new boolean)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_inbound_accept_batch(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_inbound_accept_batch(p_msgs jsonb) RETURNS TABLE(ord integer, message_id bigint, conversation_id bigint, is_new boolean)
    LANGUAGE sql
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_inbound_accept_batch(jsonb, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_inbound_accept_batch(p_msgs jsonb, p_default_flow text) RETURNS TABLE(ord integer, message_id bigint, conversation_id bigint, is_new boolean, version bigint, state text, flow_version_id bigint, language text, opted_out boolean, handoff boolean, last_activity_ms bigint, body text, received_ms bigint, kind text, latest_flow_version_id bigint, window_count bigint, status text, opt_out_type text)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_is_staff(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_is_staff(p_phone text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_item_json(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_item_json(p jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_lifecycle_may_run(integer, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_lifecycle_may_run(p_days integer, p_lock bigint) RETURNS boolean
    LANGUAGE sql
    AS $$ -- body: sql/functions/lifecycle.sql $$;

--
-- Name: carenav_local_instants(timestamp without time zone, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_local_instants(p_local timestamp without time zone, p_zone text) RETURNS bigint[]
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/oncall.sql $$;

--
-- Name: carenav_mask_phone(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_mask_phone(p_phone text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_message_out(bigint, text, text, text, bigint, smallint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_message_out(p_conversation_id bigint, p_provider text, p_body text, p_sent_by text, p_escalation_id bigint, p_segments smallint, p_encoding text, OUT id bigint, OUT created_at timestamp with time zone, OUT conversation_id bigint) RETURNS record
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_metrics_escalations(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_metrics_escalations() RETURNS text
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/console.sql $$;

--
-- Name: carenav_oncall_window(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_oncall_window() RETURNS TABLE(staff_id bigint, name text, phone text, language text, webhook_url text, tier text, starts_ms bigint, ends_ms bigint, unreachable boolean)
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/oncall.sql $$;

--
-- Name: carenav_operator_actions_immutable(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_actions_immutable() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_operator_auth(text, text, integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_auth(p_kind text, p_sha256 text, p_idle_s integer, p_absolute_s integer) RETURNS TABLE(name text, role text, csrf text, language text)
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_operator_language_set(text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_language_set(p_name text, p_lang text, p_by text, p_client_addr text) RETURNS text
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_operator_login_get(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_login_get(p_name text) RETURNS TABLE(status text, password_hash text, totp_secret text)
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_operator_login_result(text, boolean, integer, integer, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_login_result(p_name text, p_ok boolean, p_max_failures integer, p_lockout_s integer, p_sid_sha256 text, p_csrf text, p_client_addr text) RETURNS text
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_operator_logout(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_logout(p_sid_sha256 text, p_client_addr text) RETURNS void
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/operators.sql $$;

--
-- Name: carenav_outbox_claim(integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_claim(p_limit integer, p_lease_ms integer) RETURNS TABLE(outbox_id bigint, message_id bigint, attempts integer, to_number text, from_number text, body text)
    LANGUAGE sql
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_claim(integer, integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_claim(p_limit integer, p_lease_ms integer, p_urgent_lease_ms integer) RETURNS TABLE(outbox_id bigint, message_id bigint, attempts integer, to_number text, from_number text, body text, urgent boolean, escalation_open boolean)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    SET enable_bitmapscan TO 'off'
    SET enable_sort TO 'off'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_failed(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_failed(p_outbox_id bigint, p_error text) RETURNS void
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_hold(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_hold(p_items jsonb) RETURNS TABLE(outbox_id bigint)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_retry(bigint, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_retry(p_outbox_id bigint, p_delay_ms bigint, p_error text) RETURNS void
    LANGUAGE sql
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_sent(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text) RETURNS void
    LANGUAGE sql
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_sent(bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text, p_status text) RETURNS void
    LANGUAGE sql
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_sent(bigint, text, text, smallint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text, p_status text, p_segments smallint, p_encoding text) RETURNS void
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_sent_batch(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_sent_batch(p_items jsonb) RETURNS TABLE(ord integer, done boolean)
    LANGUAGE sql
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_sent_batch(jsonb, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_sent_batch(p_items jsonb, p_lease_ms integer) RETURNS TABLE(ord integer, done boolean, outbox_id bigint, message_id bigint, attempts integer, to_number text, from_number text, body text, urgent boolean, escalation_open boolean, more boolean)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_suppress(bigint[], text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_suppress(p_ids bigint[], p_reason text) RETURNS void
    LANGUAGE sql
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_trim(integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_trim(p_days integer, p_limit integer) RETURNS integer
    LANGUAGE sql
    AS $$ -- body: sql/functions/lifecycle.sql $$;

--
-- Name: carenav_outbox_unsubscribed(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_unsubscribed(p_outbox_id bigint, p_error text) RETURNS boolean
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_outbox_urgent_now(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_urgent_now() RETURNS integer
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_partitions_ensure(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_partitions_ensure(p_months_ahead integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/lifecycle.sql $$;

--
-- Name: carenav_places(integer, integer[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_places(p_n integer, p_items integer[]) RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_queue_sms(bigint, text, text, text, smallint, boolean, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_queue_sms(p_conversation_id bigint, p_provider text, p_body text, p_sent_by text, p_priority smallint, p_compliance boolean, p_escalation_id bigint) RETURNS bigint
    LANGUAGE sql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_queue_sms(bigint, text, text, text, smallint, boolean, bigint, smallint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_queue_sms(p_conversation_id bigint, p_provider text, p_body text, p_sent_by text, p_priority smallint, p_compliance boolean, p_escalation_id bigint, p_segments smallint, p_encoding text) RETURNS bigint
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_queue_urgent(bigint, text, text, text, smallint, bigint, jsonb, bigint, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_queue_urgent(p_conversation_id bigint, p_provider text, p_body text, p_sent_by text, p_priority smallint, p_escalation_id bigint, p_pages jsonb, p_staff_id bigint, p_round_ms bigint) RETURNS bigint
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_reason_text(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_reason_text(p_reason text, p_lang text) RETURNS text
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_render(jsonb, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_render(p_map jsonb, p_lang text, p_vars jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_report_error(text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_report_error(p_status text, p_error_code text, p_old text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_retention_clear_states(integer, integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_retention_clear_states(p_days integer, p_idle_hours integer, p_limit integer) RETURNS integer
    LANGUAGE sql
    AS $$ -- body: sql/functions/lifecycle.sql $$;

--
-- Name: carenav_retention_purge(integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_retention_purge(p_days integer, p_limit integer) RETURNS integer
    LANGUAGE sql
    AS $$ -- body: sql/functions/lifecycle.sql $$;

--
-- Name: carenav_staff_conversation(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_staff_conversation(p_phone text, p_service_number text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_staff_step(bigint, bigint, bigint, boolean, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_staff_step(p_conversation_id bigint, p_version bigint, p_message_id bigint, p_is_ack boolean, p_code text, p_provider text, p_texts jsonb) RETURNS text
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_staff_step(bigint, bigint, bigint, boolean, text, text, jsonb, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_staff_step(p_conversation_id bigint, p_version bigint, p_message_id bigint, p_is_ack boolean, p_code text, p_provider text, p_texts jsonb, p_code_required boolean) RETURNS text
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_stand_down(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_stand_down() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_status_rank(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_status_rank(p_status text) RETURNS integer
    LANGUAGE sql IMMUTABLE
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_step_commit(bigint, bigint, bigint, jsonb, bigint, text, text, text, jsonb, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_step_commit(p_conversation_id bigint, p_version bigint, p_message_id bigint, p_state jsonb, p_flow_version_id bigint, p_language text, p_status text, p_provider text, p_replies jsonb, p_actions jsonb) RETURNS text
    LANGUAGE sql
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_step_commit(bigint, bigint, bigint, jsonb, bigint, text, text, text, jsonb, jsonb, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_step_commit(p_conversation_id bigint, p_version bigint, p_message_id bigint, p_state jsonb, p_flow_version_id bigint, p_language text, p_status text, p_provider text, p_replies jsonb, p_actions jsonb, p_received_ms bigint) RETURNS text
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_step_commit_batch(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_step_commit_batch(p_items jsonb) RETURNS TABLE(ord integer, outcome text)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_step_commit_batch(jsonb, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_step_commit_batch(p_items jsonb, p_lease_ms integer) RETURNS TABLE(ord integer, outcome text, outbox_id bigint, message_id bigint, attempts integer, to_number text, from_number text, body text, urgent boolean, escalation_open boolean)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_step_load(bigint, text, bigint, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_step_load(p_conversation_id bigint, p_default_flow text, p_window_ms bigint, p_since timestamp with time zone) RETURNS TABLE(version bigint, state text, flow_version_id bigint, language text, opted_out boolean, handoff boolean, last_activity_ms bigint, message_id bigint, body text, received_ms bigint, kind text, latest_flow_version_id bigint, window_count bigint, status text, opt_out_type text)
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_step_load_batch(jsonb, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_step_load_batch(p_items jsonb, p_default_flow text) RETURNS TABLE(ord integer, version bigint, state text, flow_version_id bigint, language text, opted_out boolean, handoff boolean, last_activity_ms bigint, message_id bigint, body text, received_ms bigint, kind text, latest_flow_version_id bigint, window_count bigint, status text, opt_out_type text)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_suppress_opted_out(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_suppress_opted_out() RETURNS trigger
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$ -- body: sql/functions/outbox.sql $$;

--
-- Name: carenav_title_word(text[], text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_title_word(p_path text[], p_lang text) RETURNS text
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_titles_load(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_titles_load(p_doc jsonb) RETURNS void
    LANGUAGE sql
    AS $$ -- body: sql/functions/escalation.sql $$;

--
-- Name: carenav_unprocessed_conversations(integer, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_unprocessed_conversations(p_limit integer, p_min_age_ms bigint) RETURNS TABLE(conversation_id bigint)
    LANGUAGE sql STABLE
    SET max_parallel_workers_per_gather TO '0'
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_unprocessed_since(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_unprocessed_since() RETURNS timestamp with time zone
    LANGUAGE plpgsql
    AS $$ -- body: sql/functions/inbound.sql $$;

--
-- Name: carenav_zone_exists(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_zone_exists(p_zone text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ -- body: sql/functions/oncall.sql $$;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: callbacks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.callbacks (
    id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    reason text NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    done_at timestamp with time zone,
    done_by text,
    CONSTRAINT callbacks_status_check CHECK ((status = ANY (ARRAY['open'::text, 'done'::text])))
);

--
-- Name: callbacks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.callbacks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: callbacks_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.callbacks_id_seq OWNED BY public.callbacks.id;

--
-- Name: conversations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.conversations (
    id bigint NOT NULL,
    patient_number text NOT NULL,
    service_number text NOT NULL,
    kind text DEFAULT 'patient'::text NOT NULL,
    flow_version_id bigint,
    state jsonb DEFAULT '{}'::jsonb NOT NULL,
    language text DEFAULT 'en'::text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    opted_out boolean DEFAULT false NOT NULL,
    handoff boolean DEFAULT false NOT NULL,
    version bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_activity_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT conversations_kind_check CHECK ((kind = ANY (ARRAY['patient'::text, 'staff'::text]))),
    CONSTRAINT conversations_status_check CHECK ((status = ANY (ARRAY['active'::text, 'emergency'::text, 'closed'::text])))
);

--
-- Name: conversations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.conversations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: conversations_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.conversations_id_seq OWNED BY public.conversations.id;

--
-- Name: delivery_reports; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.delivery_reports (
    id bigint NOT NULL,
    provider text NOT NULL,
    provider_sid text NOT NULL,
    status text NOT NULL,
    error_code text,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: delivery_reports_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.delivery_reports_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: delivery_reports_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.delivery_reports_id_seq OWNED BY public.delivery_reports.id;

--
-- Name: escalation_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.escalation_events (
    id bigint NOT NULL,
    escalation_id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    event text NOT NULL,
    step integer,
    staff_id bigint,
    actor text,
    detail text
)
PARTITION BY RANGE (at);

--
-- Name: escalation_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.escalation_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: escalation_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.escalation_events_id_seq OWNED BY public.escalation_events.id;

--
-- Name: escalation_events_default; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.escalation_events_default (
    id bigint DEFAULT nextval('public.escalation_events_id_seq'::regclass) NOT NULL,
    escalation_id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    event text NOT NULL,
    step integer,
    staff_id bigint,
    actor text,
    detail text
);

--
-- Name: escalation_events_legacy; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.escalation_events_legacy (
    id bigint DEFAULT nextval('public.escalation_events_id_seq'::regclass) NOT NULL,
    escalation_id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    event text NOT NULL,
    step integer,
    staff_id bigint,
    actor text,
    detail text
);

--
-- Name: escalations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.escalations (
    id bigint NOT NULL,
    code text NOT NULL,
    conversation_id bigint NOT NULL,
    message_id bigint,
    reason text NOT NULL,
    matched text,
    status text DEFAULT 'open'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    acknowledged_at timestamp with time zone,
    acknowledged_by text,
    resolved_at timestamp with time zone,
    resolved_by text,
    resolution_note text,
    step integer DEFAULT 0 NOT NULL,
    next_due_at timestamp with time zone DEFAULT now(),
    outcome text,
    outcome_tries smallint,
    CONSTRAINT escalations_outcome_check CHECK ((outcome = ANY (ARRAY['advised_er'::text, 'er_confirmed'::text, 'not_urgent'::text, 'no_answer'::text, 'false_alarm'::text]))),
    CONSTRAINT escalations_outcome_tries_check CHECK (((outcome_tries >= 1) AND (outcome_tries <= 99))),
    CONSTRAINT escalations_status_check CHECK ((status = ANY (ARRAY['open'::text, 'acknowledged'::text, 'resolved'::text])))
);

--
-- Name: escalations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.escalations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: escalations_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.escalations_id_seq OWNED BY public.escalations.id;

--
-- Name: flow_versions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.flow_versions (
    id bigint NOT NULL,
    flow_id bigint NOT NULL,
    version integer NOT NULL,
    document jsonb NOT NULL,
    sha256 text NOT NULL,
    loaded_by text DEFAULT CURRENT_USER NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: flow_versions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.flow_versions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: flow_versions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.flow_versions_id_seq OWNED BY public.flow_versions.id;

--
-- Name: flows; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.flows (
    id bigint NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: flows_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.flows_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: flows_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.flows_id_seq OWNED BY public.flows.id;

--
-- Name: inbound_ids; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.inbound_ids (
    provider text NOT NULL,
    provider_sid text NOT NULL,
    message_id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: messages; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.messages (
    id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    direction text NOT NULL,
    provider text NOT NULL,
    provider_sid text,
    from_number text NOT NULL,
    to_number text NOT NULL,
    body text NOT NULL,
    num_media integer DEFAULT 0 NOT NULL,
    status text NOT NULL,
    error text,
    sent_by text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    processed_at timestamp with time zone,
    status_updated_at timestamp with time zone,
    escalation_id bigint,
    purged_at timestamp with time zone,
    opt_out_type text,
    segments smallint,
    encoding text,
    CONSTRAINT messages_direction_check CHECK ((direction = ANY (ARRAY['in'::text, 'out'::text]))),
    CONSTRAINT messages_encoding_check CHECK (((encoding IS NULL) OR (encoding = ANY (ARRAY['gsm7'::text, 'ucs2'::text])))),
    CONSTRAINT messages_opt_out_type_check CHECK ((opt_out_type = ANY (ARRAY['STOP'::text, 'START'::text, 'HELP'::text]))),
    CONSTRAINT messages_segments_check CHECK (((segments IS NULL) OR (segments >= 0)))
)
PARTITION BY RANGE (created_at);

--
-- Name: messages_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.messages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: messages_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.messages_id_seq OWNED BY public.messages.id;

--
-- Name: messages_default; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.messages_default (
    id bigint DEFAULT nextval('public.messages_id_seq'::regclass) NOT NULL,
    conversation_id bigint NOT NULL,
    direction text NOT NULL,
    provider text NOT NULL,
    provider_sid text,
    from_number text NOT NULL,
    to_number text NOT NULL,
    body text NOT NULL,
    num_media integer DEFAULT 0 NOT NULL,
    status text NOT NULL,
    error text,
    sent_by text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    processed_at timestamp with time zone,
    status_updated_at timestamp with time zone,
    escalation_id bigint,
    purged_at timestamp with time zone,
    opt_out_type text,
    segments smallint,
    encoding text,
    CONSTRAINT messages_direction_check CHECK ((direction = ANY (ARRAY['in'::text, 'out'::text]))),
    CONSTRAINT messages_encoding_check CHECK (((encoding IS NULL) OR (encoding = ANY (ARRAY['gsm7'::text, 'ucs2'::text])))),
    CONSTRAINT messages_opt_out_type_check CHECK ((opt_out_type = ANY (ARRAY['STOP'::text, 'START'::text, 'HELP'::text]))),
    CONSTRAINT messages_segments_check CHECK (((segments IS NULL) OR (segments >= 0)))
);

--
-- Name: messages_legacy; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.messages_legacy (
    id bigint DEFAULT nextval('public.messages_id_seq'::regclass) NOT NULL,
    conversation_id bigint NOT NULL,
    direction text NOT NULL,
    provider text NOT NULL,
    provider_sid text,
    from_number text NOT NULL,
    to_number text NOT NULL,
    body text NOT NULL,
    num_media integer DEFAULT 0 NOT NULL,
    status text NOT NULL,
    error text,
    sent_by text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    processed_at timestamp with time zone,
    status_updated_at timestamp with time zone,
    escalation_id bigint,
    purged_at timestamp with time zone,
    opt_out_type text,
    segments smallint,
    encoding text,
    CONSTRAINT messages_direction_check CHECK ((direction = ANY (ARRAY['in'::text, 'out'::text]))),
    CONSTRAINT messages_encoding_check CHECK (((encoding IS NULL) OR (encoding = ANY (ARRAY['gsm7'::text, 'ucs2'::text])))),
    CONSTRAINT messages_opt_out_type_check CHECK ((opt_out_type = ANY (ARRAY['STOP'::text, 'START'::text, 'HELP'::text]))),
    CONSTRAINT messages_segments_check CHECK (((segments IS NULL) OR (segments >= 0)))
);

--
-- Name: oncall_shifts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.oncall_shifts (
    id bigint NOT NULL,
    staff_id bigint NOT NULL,
    tier text NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    time_zone text DEFAULT 'UTC'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT oncall_shifts_check CHECK ((ends_at > starts_at)),
    CONSTRAINT oncall_shifts_tier_check CHECK ((tier = ANY (ARRAY['primary'::text, 'backup'::text])))
);

--
-- Name: oncall_shifts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.oncall_shifts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: oncall_shifts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.oncall_shifts_id_seq OWNED BY public.oncall_shifts.id;

--
-- Name: operator_actions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.operator_actions (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    operator text NOT NULL,
    action text NOT NULL,
    conversation_id bigint,
    escalation_id bigint,
    callback_id bigint,
    message_id bigint,
    detail text,
    client_addr text
);

--
-- Name: operator_actions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.operator_actions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: operator_actions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.operator_actions_id_seq OWNED BY public.operator_actions.id;

--
-- Name: operator_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.operator_sessions (
    id bigint NOT NULL,
    operator_id bigint NOT NULL,
    sid_sha256 text NOT NULL,
    csrf text NOT NULL,
    client_addr text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    ended_at timestamp with time zone
);

--
-- Name: operator_sessions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.operator_sessions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: operator_sessions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.operator_sessions_id_seq OWNED BY public.operator_sessions.id;

--
-- Name: operator_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.operator_tokens (
    id bigint NOT NULL,
    operator_id bigint NOT NULL,
    token_sha256 text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    last_used_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: operator_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.operator_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: operator_tokens_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.operator_tokens_id_seq OWNED BY public.operator_tokens.id;

--
-- Name: operators; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.operators (
    id bigint NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    password_hash text,
    totp_secret text,
    language text DEFAULT 'en'::text NOT NULL,
    disabled boolean DEFAULT false NOT NULL,
    failed_logins integer DEFAULT 0 NOT NULL,
    locked_until timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT operators_language_check CHECK ((language = ANY (ARRAY['en'::text, 'es'::text]))),
    CONSTRAINT operators_name_check CHECK ((name ~ '^[a-z0-9_-]{1,32}$'::text)),
    CONSTRAINT operators_role_check CHECK ((role = ANY (ARRAY['viewer'::text, 'responder'::text, 'admin'::text])))
);

--
-- Name: operators_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.operators_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: operators_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.operators_id_seq OWNED BY public.operators.id;

--
-- Name: outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox (
    id bigint NOT NULL,
    message_id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    priority smallint DEFAULT 0 NOT NULL,
    compliance boolean DEFAULT false NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    lease_until timestamp with time zone,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    message_created_at timestamp with time zone,
    urgent boolean DEFAULT false NOT NULL,
    escalation_id bigint,
    pages jsonb,
    staff_id bigint,
    round_ms bigint,
    CONSTRAINT outbox_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'done'::text, 'failed'::text, 'suppressed'::text])))
)
WITH (autovacuum_vacuum_scale_factor='0', autovacuum_vacuum_threshold='5000');

--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: outbox_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.outbox_id_seq OWNED BY public.outbox.id;

--
-- Name: schema_functions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_functions (
    name text NOT NULL,
    sha256 text NOT NULL,
    release text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    name text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: staff; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.staff (
    id bigint NOT NULL,
    name text NOT NULL,
    phone text NOT NULL,
    role text DEFAULT 'nurse'::text NOT NULL,
    language text DEFAULT 'en'::text NOT NULL,
    webhook_url text,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    unreachable_at timestamp with time zone,
    unreachable_reason text
);

--
-- Name: staff_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.staff_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: staff_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.staff_id_seq OWNED BY public.staff.id;

--
-- Name: staff_texts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.staff_texts (
    key text NOT NULL,
    texts jsonb NOT NULL
);

--
-- Name: triage_titles; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.triage_titles (
    id integer NOT NULL,
    doc jsonb NOT NULL,
    CONSTRAINT triage_titles_id_check CHECK ((id = 1))
);

--
-- Name: escalation_events_default; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events ATTACH PARTITION public.escalation_events_default DEFAULT;

--
-- Name: escalation_events_legacy; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events ATTACH PARTITION public.escalation_events_legacy FOR VALUES FROM (MINVALUE) TO ('(first monthly partition)');

--
-- Name: messages_default; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages ATTACH PARTITION public.messages_default DEFAULT;

--
-- Name: messages_legacy; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages ATTACH PARTITION public.messages_legacy FOR VALUES FROM (MINVALUE) TO ('(first monthly partition)');

--
-- Name: callbacks id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.callbacks ALTER COLUMN id SET DEFAULT nextval('public.callbacks_id_seq'::regclass);

--
-- Name: conversations id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations ALTER COLUMN id SET DEFAULT nextval('public.conversations_id_seq'::regclass);

--
-- Name: delivery_reports id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery_reports ALTER COLUMN id SET DEFAULT nextval('public.delivery_reports_id_seq'::regclass);

--
-- Name: escalation_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events ALTER COLUMN id SET DEFAULT nextval('public.escalation_events_id_seq'::regclass);

--
-- Name: escalations id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalations ALTER COLUMN id SET DEFAULT nextval('public.escalations_id_seq'::regclass);

--
-- Name: flow_versions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flow_versions ALTER COLUMN id SET DEFAULT nextval('public.flow_versions_id_seq'::regclass);

--
-- Name: flows id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flows ALTER COLUMN id SET DEFAULT nextval('public.flows_id_seq'::regclass);

--
-- Name: messages id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages ALTER COLUMN id SET DEFAULT nextval('public.messages_id_seq'::regclass);

--
-- Name: oncall_shifts id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oncall_shifts ALTER COLUMN id SET DEFAULT nextval('public.oncall_shifts_id_seq'::regclass);

--
-- Name: operator_actions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions ALTER COLUMN id SET DEFAULT nextval('public.operator_actions_id_seq'::regclass);

--
-- Name: operator_sessions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_sessions ALTER COLUMN id SET DEFAULT nextval('public.operator_sessions_id_seq'::regclass);

--
-- Name: operator_tokens id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_tokens ALTER COLUMN id SET DEFAULT nextval('public.operator_tokens_id_seq'::regclass);

--
-- Name: operators id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operators ALTER COLUMN id SET DEFAULT nextval('public.operators_id_seq'::regclass);

--
-- Name: outbox id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox ALTER COLUMN id SET DEFAULT nextval('public.outbox_id_seq'::regclass);

--
-- Name: staff id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.staff ALTER COLUMN id SET DEFAULT nextval('public.staff_id_seq'::regclass);

--
-- Name: callbacks callbacks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.callbacks
    ADD CONSTRAINT callbacks_pkey PRIMARY KEY (id);

--
-- Name: conversations conversations_patient_number_service_number_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_patient_number_service_number_key UNIQUE (patient_number, service_number);

--
-- Name: conversations conversations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_pkey PRIMARY KEY (id);

--
-- Name: delivery_reports delivery_reports_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery_reports
    ADD CONSTRAINT delivery_reports_pkey PRIMARY KEY (id);

--
-- Name: escalation_events escalation_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events
    ADD CONSTRAINT escalation_events_pkey PRIMARY KEY (id, at);

--
-- Name: escalation_events_default escalation_events_default_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events_default
    ADD CONSTRAINT escalation_events_default_pkey PRIMARY KEY (id, at);

--
-- Name: escalation_events_legacy escalation_events_legacy_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events_legacy
    ADD CONSTRAINT escalation_events_legacy_pkey PRIMARY KEY (id, at);

--
-- Name: escalations escalations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalations
    ADD CONSTRAINT escalations_pkey PRIMARY KEY (id);

--
-- Name: flow_versions flow_versions_flow_id_version_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flow_versions
    ADD CONSTRAINT flow_versions_flow_id_version_key UNIQUE (flow_id, version);

--
-- Name: flow_versions flow_versions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flow_versions
    ADD CONSTRAINT flow_versions_pkey PRIMARY KEY (id);

--
-- Name: flows flows_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flows
    ADD CONSTRAINT flows_name_key UNIQUE (name);

--
-- Name: flows flows_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flows
    ADD CONSTRAINT flows_pkey PRIMARY KEY (id);

--
-- Name: inbound_ids inbound_ids_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.inbound_ids
    ADD CONSTRAINT inbound_ids_pkey PRIMARY KEY (provider, provider_sid);

--
-- Name: messages messages_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id, created_at);

--
-- Name: messages_default messages_default_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages_default
    ADD CONSTRAINT messages_default_pkey PRIMARY KEY (id, created_at);

--
-- Name: messages_legacy messages_legacy_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages_legacy
    ADD CONSTRAINT messages_legacy_pkey PRIMARY KEY (id, created_at);

--
-- Name: oncall_shifts oncall_shifts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oncall_shifts
    ADD CONSTRAINT oncall_shifts_pkey PRIMARY KEY (id);

--
-- Name: operator_actions operator_actions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions
    ADD CONSTRAINT operator_actions_pkey PRIMARY KEY (id);

--
-- Name: operator_sessions operator_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_sessions
    ADD CONSTRAINT operator_sessions_pkey PRIMARY KEY (id);

--
-- Name: operator_sessions operator_sessions_sid_sha256_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_sessions
    ADD CONSTRAINT operator_sessions_sid_sha256_key UNIQUE (sid_sha256);

--
-- Name: operator_tokens operator_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_tokens
    ADD CONSTRAINT operator_tokens_pkey PRIMARY KEY (id);

--
-- Name: operator_tokens operator_tokens_token_sha256_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_tokens
    ADD CONSTRAINT operator_tokens_token_sha256_key UNIQUE (token_sha256);

--
-- Name: operators operators_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operators
    ADD CONSTRAINT operators_name_key UNIQUE (name);

--
-- Name: operators operators_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operators
    ADD CONSTRAINT operators_pkey PRIMARY KEY (id);

--
-- Name: outbox outbox_message_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_message_id_key UNIQUE (message_id);

--
-- Name: outbox outbox_pending_has_month; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.outbox
    ADD CONSTRAINT outbox_pending_has_month CHECK (((state <> 'pending'::text) OR (message_created_at IS NOT NULL))) NOT VALID;

--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

--
-- Name: schema_functions schema_functions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_functions
    ADD CONSTRAINT schema_functions_pkey PRIMARY KEY (name);

--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (name);

--
-- Name: staff staff_phone_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.staff
    ADD CONSTRAINT staff_phone_key UNIQUE (phone);

--
-- Name: staff staff_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.staff
    ADD CONSTRAINT staff_pkey PRIMARY KEY (id);

--
-- Name: staff_texts staff_texts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.staff_texts
    ADD CONSTRAINT staff_texts_pkey PRIMARY KEY (key);

--
-- Name: triage_titles triage_titles_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.triage_titles
    ADD CONSTRAINT triage_titles_pkey PRIMARY KEY (id);

--
-- Name: callbacks_open; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX callbacks_open ON public.callbacks USING btree (created_at) WHERE (status = 'open'::text);

--
-- Name: conversations_activity; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_activity ON public.conversations USING btree (last_activity_at DESC, id DESC);

--
-- Name: conversations_opted_out; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_opted_out ON public.conversations USING btree (id) WHERE opted_out;

--
-- Name: conversations_state_held; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_state_held ON public.conversations USING btree (last_activity_at) WHERE (state <> '{}'::jsonb);

--
-- Name: delivery_reports_sid; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX delivery_reports_sid ON public.delivery_reports USING btree (provider_sid, id);

--
-- Name: escalation_events_escalation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalation_events_escalation ON ONLY public.escalation_events USING btree (escalation_id, id);

--
-- Name: escalation_events_default_escalation_id_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalation_events_default_escalation_id_id_idx ON public.escalation_events_default USING btree (escalation_id, id);

--
-- Name: escalation_events_legacy_escalation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalation_events_legacy_escalation ON public.escalation_events_legacy USING btree (escalation_id, id);

--
-- Name: escalations_conversation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalations_conversation ON public.escalations USING btree (conversation_id, id);

--
-- Name: escalations_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalations_due ON public.escalations USING btree (next_due_at) WHERE (next_due_at IS NOT NULL);

--
-- Name: escalations_open; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalations_open ON public.escalations USING btree (created_at) WHERE (status = 'open'::text);

--
-- Name: escalations_open_code; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX escalations_open_code ON public.escalations USING btree (code) WHERE (status = 'open'::text);

--
-- Name: messages_conversation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_conversation ON ONLY public.messages USING btree (conversation_id, id);

--
-- Name: messages_inbound_window; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_inbound_window ON ONLY public.messages USING btree (conversation_id, created_at) WHERE (direction = 'in'::text);

--
-- Name: messages_default_conversation_id_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_default_conversation_id_created_at_idx ON public.messages_default USING btree (conversation_id, created_at) WHERE (direction = 'in'::text);

--
-- Name: messages_default_conversation_id_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_default_conversation_id_id_idx ON public.messages_default USING btree (conversation_id, id);

--
-- Name: messages_unprocessed; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_unprocessed ON ONLY public.messages USING btree (conversation_id, id) WHERE ((direction = 'in'::text) AND (processed_at IS NULL));

--
-- Name: messages_default_conversation_id_id_idx1; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_default_conversation_id_id_idx1 ON public.messages_default USING btree (conversation_id, id) WHERE ((direction = 'in'::text) AND (processed_at IS NULL));

--
-- Name: messages_unpurged; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_unpurged ON ONLY public.messages USING btree (created_at) WHERE (purged_at IS NULL);

--
-- Name: messages_default_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_default_created_at_idx ON public.messages_default USING btree (created_at) WHERE (purged_at IS NULL);

--
-- Name: messages_escalation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_escalation ON ONLY public.messages USING btree (escalation_id) WHERE (escalation_id IS NOT NULL);

--
-- Name: messages_default_escalation_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_default_escalation_id_idx ON public.messages_default USING btree (escalation_id) WHERE (escalation_id IS NOT NULL);

--
-- Name: messages_outbound_sid; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_outbound_sid ON ONLY public.messages USING btree (provider_sid) WHERE (direction = 'out'::text);

--
-- Name: messages_default_provider_sid_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_default_provider_sid_idx ON public.messages_default USING btree (provider_sid) WHERE (direction = 'out'::text);

--
-- Name: messages_legacy_conversation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_legacy_conversation ON public.messages_legacy USING btree (conversation_id, id);

--
-- Name: messages_legacy_conversation_id_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_legacy_conversation_id_created_at_idx ON public.messages_legacy USING btree (conversation_id, created_at) WHERE (direction = 'in'::text);

--
-- Name: messages_legacy_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_legacy_created_at_idx ON public.messages_legacy USING btree (created_at) WHERE (purged_at IS NULL);

--
-- Name: messages_legacy_escalation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_legacy_escalation ON public.messages_legacy USING btree (escalation_id) WHERE (escalation_id IS NOT NULL);

--
-- Name: messages_legacy_outbound_sid; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_legacy_outbound_sid ON public.messages_legacy USING btree (provider_sid) WHERE (direction = 'out'::text);

--
-- Name: messages_legacy_unprocessed; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_legacy_unprocessed ON public.messages_legacy USING btree (conversation_id, id) WHERE ((direction = 'in'::text) AND (processed_at IS NULL));

--
-- Name: oncall_shifts_time; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX oncall_shifts_time ON public.oncall_shifts USING btree (ends_at, starts_at);

--
-- Name: operator_actions_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX operator_actions_at ON public.operator_actions USING btree (at DESC);

--
-- Name: operator_actions_operator_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX operator_actions_operator_at ON public.operator_actions USING btree (operator, at DESC);

--
-- Name: outbox_pages; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_pages ON public.outbox USING gin (pages jsonb_path_ops) WHERE (pages IS NOT NULL);

--
-- Name: outbox_pages_staff; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_pages_staff ON public.outbox USING btree (staff_id, created_at) WHERE (pages IS NOT NULL);

--
-- Name: outbox_pending; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_pending ON public.outbox USING btree (conversation_id, id) WHERE (state = 'pending'::text);

--
-- Name: outbox_send_order; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_send_order ON public.outbox USING btree (priority DESC, id) WHERE (state = 'pending'::text);

--
-- Name: outbox_settled; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_settled ON public.outbox USING btree (created_at) WHERE (state <> 'pending'::text);

--
-- Name: outbox_urgent_pending; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_urgent_pending ON public.outbox USING btree (next_attempt_at) WHERE ((state = 'pending'::text) AND urgent);

--
-- Name: escalation_events_default_escalation_id_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.escalation_events_escalation ATTACH PARTITION public.escalation_events_default_escalation_id_id_idx;

--
-- Name: escalation_events_default_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.escalation_events_pkey ATTACH PARTITION public.escalation_events_default_pkey;

--
-- Name: escalation_events_legacy_escalation; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.escalation_events_escalation ATTACH PARTITION public.escalation_events_legacy_escalation;

--
-- Name: escalation_events_legacy_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.escalation_events_pkey ATTACH PARTITION public.escalation_events_legacy_pkey;

--
-- Name: messages_default_conversation_id_created_at_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_inbound_window ATTACH PARTITION public.messages_default_conversation_id_created_at_idx;

--
-- Name: messages_default_conversation_id_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_conversation ATTACH PARTITION public.messages_default_conversation_id_id_idx;

--
-- Name: messages_default_conversation_id_id_idx1; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_unprocessed ATTACH PARTITION public.messages_default_conversation_id_id_idx1;

--
-- Name: messages_default_created_at_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_unpurged ATTACH PARTITION public.messages_default_created_at_idx;

--
-- Name: messages_default_escalation_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_escalation ATTACH PARTITION public.messages_default_escalation_id_idx;

--
-- Name: messages_default_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_pkey ATTACH PARTITION public.messages_default_pkey;

--
-- Name: messages_default_provider_sid_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_outbound_sid ATTACH PARTITION public.messages_default_provider_sid_idx;

--
-- Name: messages_legacy_conversation; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_conversation ATTACH PARTITION public.messages_legacy_conversation;

--
-- Name: messages_legacy_conversation_id_created_at_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_inbound_window ATTACH PARTITION public.messages_legacy_conversation_id_created_at_idx;

--
-- Name: messages_legacy_created_at_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_unpurged ATTACH PARTITION public.messages_legacy_created_at_idx;

--
-- Name: messages_legacy_escalation; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_escalation ATTACH PARTITION public.messages_legacy_escalation;

--
-- Name: messages_legacy_outbound_sid; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_outbound_sid ATTACH PARTITION public.messages_legacy_outbound_sid;

--
-- Name: messages_legacy_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_pkey ATTACH PARTITION public.messages_legacy_pkey;

--
-- Name: messages_legacy_unprocessed; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_unprocessed ATTACH PARTITION public.messages_legacy_unprocessed;

--
-- Name: conversations conversations_suppress_opted_out; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversations_suppress_opted_out AFTER UPDATE OF opted_out ON public.conversations FOR EACH ROW WHEN ((new.opted_out AND (NOT old.opted_out))) EXECUTE FUNCTION public.carenav_suppress_opted_out();

--
-- Name: escalation_events escalation_events_ack_brief; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER escalation_events_ack_brief AFTER INSERT ON public.escalation_events FOR EACH ROW WHEN (((new.event = 'acknowledged'::text) AND (new.staff_id IS NOT NULL))) EXECUTE FUNCTION public.carenav_ack_brief();

--
-- Name: escalation_events escalation_events_stand_down; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER escalation_events_stand_down AFTER INSERT ON public.escalation_events FOR EACH ROW WHEN ((new.event = ANY (ARRAY['acknowledged'::text, 'resolved'::text]))) EXECUTE FUNCTION public.carenav_stand_down();

--
-- Name: escalations escalations_cancel_pages; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER escalations_cancel_pages AFTER UPDATE OF status ON public.escalations FOR EACH ROW WHEN (((old.status = 'open'::text) AND (new.status <> 'open'::text))) EXECUTE FUNCTION public.carenav_escalation_cancel_pages();

--
-- Name: messages messages_alert_titles; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER messages_alert_titles BEFORE INSERT ON public.messages FOR EACH ROW WHEN (((new.sent_by = 'alert'::text) AND (new.escalation_id IS NOT NULL))) EXECUTE FUNCTION public.carenav_alert_titles();

--
-- Name: operator_actions operator_actions_immutable; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER operator_actions_immutable BEFORE DELETE OR UPDATE ON public.operator_actions FOR EACH ROW EXECUTE FUNCTION public.carenav_operator_actions_immutable();

--
-- Name: operator_actions operator_actions_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER operator_actions_no_truncate BEFORE TRUNCATE ON public.operator_actions FOR EACH STATEMENT EXECUTE FUNCTION public.carenav_operator_actions_immutable();

--
-- Name: callbacks callbacks_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.callbacks
    ADD CONSTRAINT callbacks_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES public.conversations(id);

--
-- Name: escalation_events escalation_events_escalation_id_fkey1; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.escalation_events
    ADD CONSTRAINT escalation_events_escalation_id_fkey1 FOREIGN KEY (escalation_id) REFERENCES public.escalations(id);

--
-- Name: escalation_events escalation_events_staff_id_fkey1; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.escalation_events
    ADD CONSTRAINT escalation_events_staff_id_fkey1 FOREIGN KEY (staff_id) REFERENCES public.staff(id) ON DELETE SET NULL;

--
-- Name: escalations escalations_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalations
    ADD CONSTRAINT escalations_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES public.conversations(id);

--
-- Name: flow_versions flow_versions_flow_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flow_versions
    ADD CONSTRAINT flow_versions_flow_id_fkey FOREIGN KEY (flow_id) REFERENCES public.flows(id);

--
-- Name: messages messages_conversation_id_fkey1; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.messages
    ADD CONSTRAINT messages_conversation_id_fkey1 FOREIGN KEY (conversation_id) REFERENCES public.conversations(id);

--
-- Name: messages messages_escalation_id_fkey1; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.messages
    ADD CONSTRAINT messages_escalation_id_fkey1 FOREIGN KEY (escalation_id) REFERENCES public.escalations(id);

--
-- Name: oncall_shifts oncall_shifts_staff_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oncall_shifts
    ADD CONSTRAINT oncall_shifts_staff_id_fkey FOREIGN KEY (staff_id) REFERENCES public.staff(id) ON DELETE CASCADE;

--
-- Name: operator_actions operator_actions_callback_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions
    ADD CONSTRAINT operator_actions_callback_id_fkey FOREIGN KEY (callback_id) REFERENCES public.callbacks(id);

--
-- Name: operator_actions operator_actions_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions
    ADD CONSTRAINT operator_actions_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES public.conversations(id);

--
-- Name: operator_actions operator_actions_escalation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions
    ADD CONSTRAINT operator_actions_escalation_id_fkey FOREIGN KEY (escalation_id) REFERENCES public.escalations(id);

--
-- Name: operator_sessions operator_sessions_operator_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_sessions
    ADD CONSTRAINT operator_sessions_operator_id_fkey FOREIGN KEY (operator_id) REFERENCES public.operators(id);

--
-- Name: operator_tokens operator_tokens_operator_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_tokens
    ADD CONSTRAINT operator_tokens_operator_id_fkey FOREIGN KEY (operator_id) REFERENCES public.operators(id);

--
-- Name: outbox outbox_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES public.conversations(id);

--
-- PostgreSQL database dump complete
--

