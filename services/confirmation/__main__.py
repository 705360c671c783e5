from services.confirmation.app import create_app
from services.confirmation.settings import ConfirmationSettings
from shared.runner import serve

# Guarded: the mail parser's spawned worker processes import this module too, and must not serve.
if __name__ == "__main__":
    settings = ConfirmationSettings()
    serve(create_app(settings), settings)
