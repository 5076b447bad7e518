import OutpostModel

extension Timestamp {
    func adding(_ micros: Int64) -> Timestamp { adding(microseconds: micros) }
}
