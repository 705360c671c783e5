from services.escalation.app import create_app
from services.escalation.settings import EscalationSettings
from shared.runner import serve

settings = EscalationSettings()
serve(create_app(settings), settings)
