from services.confirmation.app import create_app
from services.confirmation.settings import ConfirmationSettings
from shared.runner import serve

settings = ConfirmationSettings()
serve(create_app(settings), settings)
