package io.keywarden.contracts.events;

/** A model of a group and its price in micro-dollars per million tokens. */
public record ModelPrice(
    String id, String ownedBy, long inputMicrosPerMillion, long outputMicrosPerMillion) {}
