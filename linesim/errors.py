"""LINE's error shapes, raised as exceptions and rendered as LINE renders them."""

from starlette.responses import JSONResponse

AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."
RATE_LIMITED = "The API rate limit has been exceeded. Try again later."
MONTHLY_LIMIT = "You have reached your monthly limit."
NOT_PARSABLE = "The request body could not be parsed as JSON"
INVALID_REPLY_TOKEN = "Invalid reply token"
RETRY_KEY_ACCEPTED = "The retry key is already accepted"
RETRY_KEY_UNSUPPORTED = "X-Line-Retry-Key header is not supported"
INTERNAL_ERROR = "An internal server error occurred"
NOT_FOUND = "Not found"
TOO_LARGE = "The request entity is too large"


class LineError(Exception):
    """An error answer from the simulated platform.

    ``body`` is the exact JSON LINE sends; ``headers`` are extra response headers
    (e.g. x-line-accepted-request-id on a 409).
    """

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        details=None,
        body: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message or "")
        self.status = status
        if body is None:
            body = {"message": message}
            if details:
                body["details"] = details
        self.body = body
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def bad_request(details: list[dict]) -> LineError:
    """400 with LINE's "The request body has N error(s)" summary."""
    return LineError(400, f"The request body has {len(details)} error(s)", details=details)


def detail(prop: str, message: str) -> dict:
    return {"message": message, "property": prop}


def oauth_error(error: str, description: str, status: int = 400) -> LineError:
    """The OAuth endpoints answer in RFC 6749 style, not the Messaging API style."""
    return LineError(status, body={"error": error, "error_description": description})
