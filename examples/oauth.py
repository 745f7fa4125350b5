"""OAuth 2.0 authorization-code callback for a FastAPI service."""

from __future__ import annotations

import httpx
import jwt
from fastapi import APIRouter, HTTPException, Request

router = APIRouter()
TOKEN_URL = "https://auth.example.com/oauth/token"


@router.get("/oauth/callback")
async def oauth_callback(request: Request, code: str, state: str) -> dict[str, str]:
    if state != request.session.get("oauth_state"):
        raise HTTPException(status_code=400, detail="state mismatch")
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(TOKEN_URL, data={"grant_type": "authorization_code",
                                                      "code": code})
    if response.status_code != 200:
        raise HTTPException(status_code=502, detail="token exchange failed")
    claims = jwt.decode(response.json()["id_token"], options={"verify_signature": False})
    request.session["user"] = claims["sub"]
    return {"user": claims["sub"]}
