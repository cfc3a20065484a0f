"""The Live page's transport: plain HTTP routes on the Gradio app's own FastAPI server.

    POST {LIVE_PREFIX}/sessions              open a session -> JSON (id, rates, wire format)
    POST {LIVE_PREFIX}/sessions/{id}/audio   body: float32 mono 16 kHz -> the frames made final
    POST {LIVE_PREFIX}/sessions/{id}/stop    flush and close -> the last frames
    GET  {LIVE_PREFIX}/status                sessions on stage and the capacity (JSON)

Frames travel as ``application/octet-stream`` in the layout of :mod:`webapp.live_frames`;
errors as JSON ``{"error": message}`` (409 the stage is busy, 503 no live models, 400 bad
audio, 413 a piece too large, 415 not octet-stream, 404 the session has ended), the message
written for the visitor.

Why one HTTP request per piece of speech, and not a WebSocket or Gradio streaming:

- **It works wherever the page does.** A Hugging Face Space, and any proxy or corporate
  network in front of one, passes ordinary HTTPS POSTs, which the page itself is loaded with;
  a WebSocket upgrade is one more thing a proxy can refuse. The app also needs no new
  dependency: uvicorn serves WebSockets only with ``websockets`` or ``wsproto`` installed,
  and the demo's requirements have neither.
- **Back-pressure for free.** The page keeps one piece in flight and sends what it recorded
  meanwhile with the next one, so a server that falls behind receives larger pieces rather
  than a growing backlog of messages, and the page sees the delay in its latency readout.
  Each reply carries exactly the frames that piece made final, and the audio the stream's
  next step needs (``x-semges-next-step-samples``; the session's JSON has the first): the
  page sends as soon as its audio reaches that count, so each piece completes a step.
- **Cheap enough.** One piece per step (0.2 s) over a kept-alive connection is 5 small
  requests a second; the reply's frames are 456 bytes each (13.7 kB per second of motion).
- **Gradio streaming does not fit:** a streaming ``gr.Audio`` sends pieces through the queue
  as events whose outputs are components (JSON-encoded, no binary), each event a round trip
  through the queue's scheduling, and it ties a visitor's stream to the queue's concurrency,
  which Generate requests share.

A client that vanishes mid-talk sends nothing more; the stage closes its session after
``AppSettings.live_idle_seconds`` (see :mod:`webapp.live_stage`).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from webapp.live_frames import wire_format
from webapp.live_stage import (
    BadAudio,
    LiveError,
    LiveStage,
    LiveUnavailable,
    PieceTooLarge,
    PushResult,
    SessionGone,
    StageBusy,
    max_piece_bytes,
    piece_too_large,
)

logger = logging.getLogger(__name__)

LIVE_PREFIX = "/semges-live"  # not /live: that is the page's own address
AUDIO_TYPE = "application/octet-stream"
FRAMES_TYPE = "application/octet-stream"
FRAMES_EMITTED_HEADER = "x-semges-frames-emitted"
AUDIO_SECONDS_HEADER = "x-semges-audio-seconds"
COMPUTE_MS_HEADER = "x-semges-compute-ms"
NEXT_STEP_SAMPLES_HEADER = "x-semges-next-step-samples"
MS_PER_S = 1000.0
GENERATOR_FAILED = (
    "The live generator failed on this speech and the session was closed (the error is in "
    "the server's log). Press Start to try again."
)
STATUS_OF: dict[type[LiveError], int] = {
    StageBusy: 409,
    LiveUnavailable: 503,
    PieceTooLarge: 413,
    BadAudio: 400,
    SessionGone: 404,
}


def error_response(error: LiveError) -> JSONResponse:
    status = next(code for kind, code in STATUS_OF.items() if isinstance(error, kind))
    return JSONResponse({"error": str(error)}, status_code=status)


def frames_response(result: PushResult) -> Response:
    headers = {
        FRAMES_EMITTED_HEADER: str(result.frames_emitted),
        AUDIO_SECONDS_HEADER: f"{result.audio_seconds:.3f}",
        COMPUTE_MS_HEADER: f"{result.compute_seconds * MS_PER_S:.1f}",
        "cache-control": "no-store",
    }
    if result.next_step_samples is not None:
        headers[NEXT_STEP_SAMPLES_HEADER] = str(result.next_step_samples)
    return Response(result.frames, media_type=FRAMES_TYPE, headers=headers)


async def read_piece(request: Request, sample_rate: int) -> bytes:
    """The request's body, refused (PieceTooLarge) as soon as it passes the largest piece, so
    a huge upload is never held in memory."""
    limit = max_piece_bytes(sample_rate)
    received = bytearray()
    async for chunk in request.stream():
        received.extend(chunk)
        if len(received) > limit:
            raise piece_too_large(f"over {limit:,} bytes", sample_rate)
    return bytes(received)


def live_routes(stage: LiveStage) -> list[BaseRoute]:
    """The routes above around ``stage``, for ``FastAPI(routes=...)`` (Gradio's
    ``launch(app_kwargs=...)``)."""
    router = APIRouter(prefix=LIVE_PREFIX)

    @router.post("/sessions")
    async def open_session() -> JSONResponse:
        try:
            session = await run_in_threadpool(stage.open)
        except StageBusy as error:
            logger.info("live: a visitor was told the stage is busy")
            return error_response(error)
        except LiveUnavailable as error:
            return error_response(error)
        stream = session.stream
        return JSONResponse(
            {
                "session": session.session_id,
                "sample_rate": session.sample_rate,
                "lookahead_s": stream.lookahead_s if stream is not None else 0.0,
                "next_step_samples": stream.next_step_samples if stream is not None else 0,
                "max_piece_bytes": max_piece_bytes(session.sample_rate),
                "idle_seconds": stage.idle_seconds,
                "wire": wire_format(),
            },
            status_code=201,
        )

    @router.post("/sessions/{session_id}/audio")
    async def push_audio(session_id: str, request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type != AUDIO_TYPE:
            return JSONResponse(
                {"error": f"Send audio as {AUDIO_TYPE} (float32 mono), not {content_type!r}."},
                status_code=415,
            )
        try:
            payload = await read_piece(request, stage.sample_rate(session_id))
            result = await run_in_threadpool(stage.push, session_id, payload)
        except LiveError as error:
            return error_response(error)
        except Exception:
            logger.exception("live session %s: the generator failed", session_id[:8])
            stage.discard(session_id)
            return JSONResponse({"error": GENERATOR_FAILED}, status_code=500)
        return frames_response(result)

    @router.post("/sessions/{session_id}/stop")
    async def stop_session(session_id: str) -> Response:
        try:
            result = await run_in_threadpool(stage.stop, session_id)
        except LiveError as error:
            return error_response(error)
        except Exception:
            logger.exception("live session %s: the generator failed at stop", session_id[:8])
            return JSONResponse({"error": GENERATOR_FAILED}, status_code=500)
        return frames_response(result)

    @router.get("/status")
    async def status() -> JSONResponse:
        return JSONResponse({"active": stage.active(), "capacity": stage.capacity})

    return list(router.routes)
