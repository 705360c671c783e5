from services.ownership.app import create_app
from services.ownership.settings import OwnershipSettings
from shared.runner import serve

settings = OwnershipSettings()
serve(create_app(settings), settings)
