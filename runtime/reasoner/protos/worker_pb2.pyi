from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Register(_message.Message):
    __slots__ = ("name", "app", "capacity", "asr_grammar")
    NAME_FIELD_NUMBER: _ClassVar[int]
    APP_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    ASR_GRAMMAR_FIELD_NUMBER: _ClassVar[int]
    name: str
    app: str
    capacity: int
    asr_grammar: str
    def __init__(self, name: _Optional[str] = ..., app: _Optional[str] = ..., capacity: _Optional[int] = ..., asr_grammar: _Optional[str] = ...) -> None: ...

class Registered(_message.Message):
    __slots__ = ("worker_id",)
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    def __init__(self, worker_id: _Optional[str] = ...) -> None: ...

class SessionMessage(_message.Message):
    __slots__ = ("session_id", "message_json")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_JSON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    message_json: str
    def __init__(self, session_id: _Optional[str] = ..., message_json: _Optional[str] = ...) -> None: ...

class Assign(_message.Message):
    __slots__ = ("session_id", "room", "identity", "takeover", "media_ms")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    TAKEOVER_FIELD_NUMBER: _ClassVar[int]
    MEDIA_MS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    room: str
    identity: str
    takeover: bool
    media_ms: int
    def __init__(self, session_id: _Optional[str] = ..., room: _Optional[str] = ..., identity: _Optional[str] = ..., takeover: _Optional[bool] = ..., media_ms: _Optional[int] = ...) -> None: ...

class Unassign(_message.Message):
    __slots__ = ("session_id", "reason")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    reason: str
    def __init__(self, session_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Release(_message.Message):
    __slots__ = ("session_id", "reason")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    reason: str
    def __init__(self, session_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message", "session_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    session_id: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class WorkerMessage(_message.Message):
    __slots__ = ("register", "message", "release")
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    register: Register
    message: SessionMessage
    release: Release
    def __init__(self, register: _Optional[_Union[Register, _Mapping]] = ..., message: _Optional[_Union[SessionMessage, _Mapping]] = ..., release: _Optional[_Union[Release, _Mapping]] = ...) -> None: ...

class HubMessage(_message.Message):
    __slots__ = ("registered", "assign", "message", "unassign", "error")
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    ASSIGN_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    UNASSIGN_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    registered: Registered
    assign: Assign
    message: SessionMessage
    unassign: Unassign
    error: Error
    def __init__(self, registered: _Optional[_Union[Registered, _Mapping]] = ..., assign: _Optional[_Union[Assign, _Mapping]] = ..., message: _Optional[_Union[SessionMessage, _Mapping]] = ..., unassign: _Optional[_Union[Unassign, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...
