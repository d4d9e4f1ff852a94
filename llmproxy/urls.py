from django.contrib import admin
from django.urls import path

from analytics import views as analytics_views
from analytics.metrics_view import metrics
from llmproxy import views
from llmproxy.api import anthropic_api, logs_api, ollama_api, openai_api, passthrough_api
from llmproxy.login_throttle import ThrottledLoginForm

admin.site.login_form = ThrottledLoginForm  # failed logins lock out for a while

urlpatterns = [
    path("", views.home, name="home"),
    path("health", views.health, name="health"),
    path("metrics", metrics, name="metrics"),
    path("performance", analytics_views.performance, name="performance"),
    path("request/<uuid:request_id>", analytics_views.request_detail, name="request"),
    path("admin/", admin.site.urls),
    path("v1/", anthropic_api.urls),  # /v1/messages; other /v1/ paths fall through
    path("v1/", openai_api.urls),
    path("api/", ollama_api.urls),
    path("api/", logs_api.urls),
    # Keep last: the pass-through answers every /v1 path the APIs above do not.
    path("v1/", passthrough_api.urls),
]

handler404 = views.not_found  # JSON under /api/ and /v1/, the page elsewhere
