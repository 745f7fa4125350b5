"""A small FastAPI service issuing OAuth2 password-flow tokens (JWT) for aexy's examples."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from passlib.context import CryptContext
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import User, get_session

SECRET_KEY = os.environ["JWT_SECRET_KEY"]
ALGORITHM = "HS256"
ACCESS_TOKEN_MINUTES = 30

app = FastAPI()
pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the user when the password matches its stored hash."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not pwd_context.verify(password, user.password_hash):
        return None
    return user


def create_access_token(subject: str, scopes: list[str]) -> str:
    """Sign a short-lived access token for ``subject`` with the given scopes."""
    expires = datetime.now(UTC) + timedelta(minutes=ACCESS_TOKEN_MINUTES)
    return jwt.encode({"sub": subject, "scopes": scopes, "exp": expires}, SECRET_KEY, ALGORITHM)


async def current_user(
    token: Annotated[str, Depends(oauth2_scheme)],
    session: Annotated[Session, Depends(get_session)],
) -> User:
    """Decode the bearer token and load its user, or answer 401."""
    try:
        payload = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])
    except jwt.PyJWTError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token") from exc
    user = session.get(User, payload.get("sub"))
    if user is None or not user.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "inactive user")
    return user


@app.post("/token", response_model=Token)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: Annotated[Session, Depends(get_session)],
) -> Token:
    """OAuth2 password flow: exchange a username and password for an access token."""
    user = authenticate(session, form.username, form.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    allowed = [s for s in form.scopes if s in user.allowed_scopes]
    return Token(access_token=create_access_token(user.username, allowed))


@app.get("/me")
async def read_me(user: Annotated[User, Depends(current_user)]) -> dict[str, str]:
    """The signed-in user's public profile."""
    return {"username": user.username, "email": user.email}
