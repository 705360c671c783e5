import uvicorn

from services.console.app import create_app
from services.console.settings import ConsoleSettings

settings = ConsoleSettings()
uvicorn.run(
    create_app(settings),
    host=settings.host,
    port=settings.port,
    access_log=False,
    log_config=None,
    timeout_graceful_shutdown=5,
)
