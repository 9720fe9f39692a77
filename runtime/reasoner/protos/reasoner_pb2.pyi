from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    URGENT: _ClassVar[Priority]
    NEXT_PAUSE: _ClassVar[Priority]
    WHEN_IDLE: _ClassVar[Priority]
PRIORITY_UNSPECIFIED: Priority
URGENT: Priority
NEXT_PAUSE: Priority
WHEN_IDLE: Priority

class Interjection(_message.Message):
    __slots__ = ("id", "session_id", "text", "anchor_ms", "created_ms", "expires_ms", "priority", "reason", "source")
    ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_MS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    session_id: str
    text: str
    anchor_ms: int
    created_ms: int
    expires_ms: int
    priority: Priority
    reason: str
    source: str
    def __init__(self, id: _Optional[str] = ..., session_id: _Optional[str] = ..., text: _Optional[str] = ..., anchor_ms: _Optional[int] = ..., created_ms: _Optional[int] = ..., expires_ms: _Optional[int] = ..., priority: _Optional[_Union[Priority, str]] = ..., reason: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class SessionOpened(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class SessionClosed(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class ContextEvent(_message.Message):
    __slots__ = ("session_id", "kind", "payload_json", "media_ms")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    MEDIA_MS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    kind: str
    payload_json: str
    media_ms: int
    def __init__(self, session_id: _Optional[str] = ..., kind: _Optional[str] = ..., payload_json: _Optional[str] = ..., media_ms: _Optional[int] = ...) -> None: ...

class Request(_message.Message):
    __slots__ = ("request_id", "session_id", "question", "context_json", "media_ms", "timeout_ms")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_JSON_FIELD_NUMBER: _ClassVar[int]
    MEDIA_MS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    session_id: str
    question: str
    context_json: str
    media_ms: int
    timeout_ms: int
    def __init__(self, request_id: _Optional[str] = ..., session_id: _Optional[str] = ..., question: _Optional[str] = ..., context_json: _Optional[str] = ..., media_ms: _Optional[int] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class RuntimeMessage(_message.Message):
    __slots__ = ("opened", "closed", "context", "request")
    OPENED_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    opened: SessionOpened
    closed: SessionClosed
    context: ContextEvent
    request: Request
    def __init__(self, opened: _Optional[_Union[SessionOpened, _Mapping]] = ..., closed: _Optional[_Union[SessionClosed, _Mapping]] = ..., context: _Optional[_Union[ContextEvent, _Mapping]] = ..., request: _Optional[_Union[Request, _Mapping]] = ...) -> None: ...

class InterjectionReply(_message.Message):
    __slots__ = ("request_id", "interjection")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INTERJECTION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    interjection: Interjection
    def __init__(self, request_id: _Optional[str] = ..., interjection: _Optional[_Union[Interjection, _Mapping]] = ...) -> None: ...

class RequestDone(_message.Message):
    __slots__ = ("request_id", "interjections")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INTERJECTIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    interjections: int
    def __init__(self, request_id: _Optional[str] = ..., interjections: _Optional[int] = ...) -> None: ...

class RequestFailed(_message.Message):
    __slots__ = ("request_id", "code", "message")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    code: str
    message: str
    def __init__(self, request_id: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message", "request_id", "session_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    request_id: str
    session_id: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., request_id: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class ReasonerMessage(_message.Message):
    __slots__ = ("interjection", "done", "failed", "error")
    INTERJECTION_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    interjection: InterjectionReply
    done: RequestDone
    failed: RequestFailed
    error: Error
    def __init__(self, interjection: _Optional[_Union[InterjectionReply, _Mapping]] = ..., done: _Optional[_Union[RequestDone, _Mapping]] = ..., failed: _Optional[_Union[RequestFailed, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class AskRequest(_message.Message):
    __slots__ = ("session_id", "question", "context_json", "media_ms", "timeout_ms")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_JSON_FIELD_NUMBER: _ClassVar[int]
    MEDIA_MS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    question: str
    context_json: str
    media_ms: int
    timeout_ms: int
    def __init__(self, session_id: _Optional[str] = ..., question: _Optional[str] = ..., context_json: _Optional[str] = ..., media_ms: _Optional[int] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class AskReply(_message.Message):
    __slots__ = ("interjections",)
    INTERJECTIONS_FIELD_NUMBER: _ClassVar[int]
    interjections: _containers.RepeatedCompositeFieldContainer[Interjection]
    def __init__(self, interjections: _Optional[_Iterable[_Union[Interjection, _Mapping]]] = ...) -> None: ...

class SessionRef(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class SessionSummary(_message.Message):
    __slots__ = ("session_id", "context_events", "pending_requests", "last_media_ms")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    PENDING_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    LAST_MEDIA_MS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    context_events: int
    pending_requests: int
    last_media_ms: int
    def __init__(self, session_id: _Optional[str] = ..., context_events: _Optional[int] = ..., pending_requests: _Optional[int] = ..., last_media_ms: _Optional[int] = ...) -> None: ...
