"""The dashboard's websocket: staff only; joins the live group, relays its events."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from analytics.broadcast import GROUP

NOT_STAFF = 4403


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_staff:
            await self.close(code=NOT_STAFF)
            return
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def request_events(self, message: dict) -> None:
        await self.send_json({"type": "requests", "events": message["events"]})
