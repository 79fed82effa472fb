"""OKX's live messages into events, strictly: what okx.md documents becomes records, anything else a BadEvent
naming what is wrong (the loader sends it to the dead-letter topic)."""

from __future__ import annotations

import json

import pytest

from streamforge.catalog import TOP
from streamforge.instruments import parse_instrument
from streamforge.live.feed import BadEvent, BookUpdate, Kline, Reconnect, Record, Refused, Trade
from streamforge.venues.okx.live import OkxFeed

from okx_cases import MARKET, SPOT, SWAP

TS = "1736208000000"
RECEIVED_US = 1_736_208_000_250_000  # OKX stamps every push: the receive time is not used


@pytest.fixture
def feed(endpoints):
    made = OkxFeed(endpoints, [parse_instrument(SPOT), parse_instrument(SWAP)])
    yield made
    made.close()


def push(channel: str, inst_id: str, data: list, **extra) -> str:
    return json.dumps({"arg": {"channel": channel, "instId": inst_id}, "data": data, **extra})


def trade(**change) -> dict:
    return {"instId": "BTC-USDT", "tradeId": "42", "px": "95000.1", "sz": "0.5", "side": "sell", "ts": TS} | change


def test_the_plan_puts_trades_books_and_top_of_book_on_public_and_candles_on_business(feed):
    public, business = feed.plan()
    assert public.url.endswith("/ws/v5/public") and business.url.endswith("/ws/v5/business")
    [subscribe] = public.subscribe
    assert {(a["channel"], a["instId"]) for a in json.loads(subscribe)["args"]} == {
        (c, i) for c in ("trades", "books", "bbo-tbt") for i in ("BTC-USDT", "BTC-USDT-SWAP")
    }
    assert json.loads(business.subscribe[0])["args"][0]["channel"] == "candle1m"
    assert feed.rules.ping_text == "ping" and feed.rules.ping_after_s < 30 and not feed.contiguous_trade_ids


def test_a_trade_becomes_an_agg_trade_row_and_a_swap_s_contracts_base_units(feed):
    [spot] = feed.parse(push("trades", "BTC-USDT", [trade()]), RECEIVED_US)
    assert isinstance(spot, Trade) and spot.id == 42 and spot.row["is_buyer_maker"] and spot.row["qty"] == 0.5
    [swap] = feed.parse(push("trades", "BTC-USDT-SWAP", [trade(instId="BTC-USDT-SWAP", sz="3")]), RECEIVED_US)
    contract = MARKET.spec(SWAP).contract_size
    assert swap.row["qty"] == pytest.approx(3 * contract) and swap.row["contract_size"] == contract


def test_the_first_trade_after_a_subscription_resumes_the_stream(feed):
    subscribed = {"event": "subscribe", "arg": {"channel": "trades", "instId": "BTC-USDT"}, "connId": "1"}
    feed.parse(json.dumps(subscribed), RECEIVED_US)
    first, second = feed.parse(push("trades", "BTC-USDT", [trade(tradeId="7"), trade(tradeId="9")]), RECEIVED_US)
    assert first.resumes and not second.resumes


def test_books_messages_carry_the_chain_and_the_checksum(feed):
    data = {"asks": [["95000.2", "3", "0", "2"]], "bids": [["95000.1", "0", "0", "0"]], "ts": TS, "checksum": -5,
            "seqId": 11, "prevSeqId": 10}
    [update] = feed.parse(push("books", "BTC-USDT-SWAP", [data], action="update"), RECEIVED_US)
    assert isinstance(update, BookUpdate) and update.update.seq_id == 11 and update.update.prev_seq_id == 10
    assert update.update.asks == (("95000.2", "3"),) and update.update.checksum == -5
    assert update.row["asks"] == [{"price": 95000.2, "qty": pytest.approx(3 * MARKET.spec(SWAP).contract_size)}]
    assert (update.row["first_update_id"], update.row["final_update_id"]) == (11, 11)


def test_top_of_book_and_candles(feed):
    bbo = {"asks": [["2", "1", "0", "1"]], "bids": [["1", "4", "0", "1"]], "ts": TS, "seqId": 5}
    [top] = feed.parse(push("bbo-tbt", "BTC-USDT", [bbo]), RECEIVED_US)
    assert isinstance(top, Record) and top.dataset == TOP and (top.row["bid_price"], top.row["ask_qty"]) == (1.0, 1.0)
    row = [TS, "100", "110", "90", "105", "200", "2", "210", "1"]
    [kline] = feed.parse(push("candle1m", "BTC-USDT-SWAP", [row]), RECEIVED_US)
    assert isinstance(kline, Kline) and kline.closed and kline.row["volume"] == 2.0 and kline.row["trade_count"] is None


def test_control_events(feed):
    assert feed.parse("pong", RECEIVED_US) == []
    error = {"event": "error", "code": "60018", "msg": "Wrong URL or channel", "connId": "1"}
    [refused] = feed.parse(json.dumps(error), RECEIVED_US)
    assert isinstance(refused, Refused) and "60018" in refused.reason
    [reconnect] = feed.parse(json.dumps({"event": "notice", "code": "64008", "msg": "service upgrade"}), RECEIVED_US)
    assert isinstance(reconnect, Reconnect)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not JSON"),
        (push("trades", "ETH-USDT", [trade(instId="ETH-USDT")]), "push for an instrument this loader does not follow"),
        (push("trades", "BTC-USDT", [trade(px=95000.1)]), "field 'px' = 95000.1 is not a string"),
        (push("trades", "BTC-USDT", [trade(side="BUY")]), "side 'BUY' is neither buy nor sell"),
        (push("trades", "BTC-USDT", [trade(px="0")]), "px '0' is not a positive decimal"),
        (push("trades", "BTC-USDT", [trade(px="١٢٣")]), "px '١٢٣' is not a decimal"),
        (push("trades", "BTC-USDT", [trade(sz="1_000")]), "sz '1_000' is not a decimal"),
        (push("trades", "BTC-USDT", [trade(sz=" 1 ")]), "sz ' 1 ' is not a decimal"),
        (push("books", "BTC-USDT", [{"asks": [], "bids": [], "ts": TS, "checksum": 0, "seqId": "1", "prevSeqId": 0}], action="update"),
         "seqId '1', prevSeqId 0 and checksum 0 must be integers"),
        (push("books", "BTC-USDT", [{"asks": [["x", "1"]], "bids": [], "ts": TS, "checksum": 0, "seqId": 1, "prevSeqId": 0}], action="update"),
         "asks level 1"),
        (push("candle1m", "BTC-USDT", [[TS, "100", "110"]]), "not nine strings"),
        (push("tickers", "BTC-USDT", [{}]), "push of an unknown channel 'tickers'"),
        (json.dumps({"event": "login"}), "unknown event 'login'"),
    ],
)
def test_a_message_okx_does_not_document_is_a_bad_event_naming_why(feed, raw, message):
    with pytest.raises(BadEvent, match=message):
        feed.parse(raw, RECEIVED_US)
