"""`weft api`: the northbound operations over HTTP, for runtimes, orchestrators and CNI plugins.

Hosts never hold database credentials: a CNI plugin on a host calls this API with that host's
token instead. Every request is one transaction of the operations in northbound/, with the
same validation and the same refusals as the CLI, answered as JSON.

| module  | what                                                                |
| ---     | ---                                                                 |
| config  | ApiConfig: defaults < TOML < WEFT_* environment < options           |
| auth    | bearer tokens: who calls, in the request's own transaction          |
| schemas | the JSON bodies requests carry (validated by pydantic, in OpenAPI)  |
| app     | the FastAPI application: resources and the error answers            |
| server  | uvicorn: listen (with TLS if configured), stop on SIGTERM           |

FastAPI because its request types are the validation and the OpenAPI document at once, and it
runs plain (synchronous) functions in a thread pool, which suits SQLAlchemy's sessions.
"""
