from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.runner import serve, serve_workers

settings = IntakeSettings()
if (workers := settings.worker_count()) > 1:
    serve_workers("services.intake.app:create_worker_app", settings, workers)
else:
    serve(create_app(settings), settings)
